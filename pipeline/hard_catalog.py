"""Hand-made, country-flavoured material for the hard generator: chains, places, names, business words.

Each chain line reads ``id | category of our taxonomy | descriptor; descriptor; ...``: the id is
the TRUE merchant identity written to the ``merchant`` column (all of a chain's stores and
descriptors are one merchant); ``{town}`` in a descriptor is a store's place, ``{n}`` its number.
US chains come from ``data/merchants.csv``; a few global brands from it serve every country.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Chain:
    """A national (or global) brand: one merchant identity, several ways banks print it."""

    id: str
    category: str
    descriptors: tuple[str, ...]


def parse_chains(text: str) -> tuple[Chain, ...]:
    """Chains written one a line as ``id | category | descriptor; descriptor``."""
    chains = []
    for line in text.strip().splitlines():
        ident, category, descriptors = (part.strip() for part in line.split("|"))
        chains.append(Chain(ident, category, tuple(d.strip() for d in descriptors.split(";"))))
    return tuple(chains)


NZ_CHAINS = parse_chains("""
countdown | groceries.supermarkets | COUNTDOWN {town}; CDOWN {town}; WOOLWORTHS {town}; WOOLWORTHS NZ/{n}
new world | groceries.supermarkets | NEW WORLD {town}; NW {town}; NEW WORLD {town} {n}
paknsave | groceries.supermarkets | PAK N SAVE {town}; PAKNSAVE {town}; PAK'NSAVE {town}; PNS {town}
four square | groceries.supermarkets | FOUR SQUARE {town}; 4 SQUARE {town}
freshchoice | groceries.supermarkets | FRESHCHOICE {town}; FRESH CHOICE {town}
costco | groceries.warehouse_clubs | COSTCO WHOLESALE NZ; COSTCO WESTGATE
on the spot | groceries.convenience | ON THE SPOT {town}; OTS {town}
night n day | groceries.convenience | NIGHT N DAY {town}; NIGHT 'N DAY FOODSTORES
liquorland | groceries.liquor | LIQUORLAND {town}; LIQUORLAND {n}
super liquor | groceries.liquor | SUPER LIQUOR {town}; SUPERLIQUOR {town}
glengarry | groceries.liquor | GLENGARRY WINES; GLENGARRY {town}
my food bag | groceries.delivery | MY FOOD BAG; MYFOODBAG LTD
hellofresh | groceries.delivery | HELLOFRESH NZ; HELLO FRESH
columbus coffee | food.coffee | COLUMBUS COFFEE {town}; COLUMBUS {town}
coffee culture | food.coffee | COFFEE CULTURE {town}
esquires | food.coffee | ESQUIRES {town}; ESQUIRES COFFEE
burgerfuel | food.fast_food | BURGERFUEL {town}; BURGER FUEL {town}
st pierres | food.fast_food | ST PIERRES {town}; ST PIERRE'S SUSHI
carls jr | food.fast_food | CARLS JR {town}; CARL'S JR
pita pit | food.fast_food | PITA PIT {town}
hell pizza | food.pizza | HELL {town}; HELL PIZZA {town}; HELL PIZZA
bakers delight | food.bakery | BAKERS DELIGHT {town}
muffin break | food.bakery | MUFFIN BREAK {town}
delivereasy | food.delivery | DELIVEREASY; DELIVER EASY
the warehouse | shopping.general | THE WAREHOUSE {town}; TWL {n} {town}; WAREHOUSE {town}
kmart | shopping.general | KMART {town}; KMART NZ {n}
farmers | shopping.department_stores | FARMERS {town}; FARMERS {n}
ballantynes | shopping.department_stores | BALLANTYNES {town}; J BALLANTYNE & CO
trade me | shopping.online | TRADE ME; TRADEME LTD; TRADE ME LIMITED WELLINGTON
mighty ape | shopping.online | MIGHTY APE; MIGHTYAPE.CO.NZ
glassons | shopping.clothing | GLASSONS {town}
hallensteins | shopping.clothing | HALLENSTEINS {town}; HALLENSTEIN BROS
cotton on | shopping.clothing | COTTON ON {town}; COTTON ON KIDS {town}
postie | shopping.clothing | POSTIE {town}; POSTIE+ {town}
noel leeming | shopping.electronics | NOEL LEEMING {town}; NOEL LEEMINGS
jb hi-fi | shopping.electronics | JB HI-FI {town}; JB HIFI {town}
pb tech | shopping.electronics | PB TECH; PBTECH.CO.NZ; PB TECHNOLOGIES
rebel sport | shopping.sporting_goods | REBEL SPORT {town}; REBEL {town}
kathmandu | shopping.sporting_goods | KATHMANDU {town}; KATHMANDU LTD
macpac | shopping.sporting_goods | MACPAC {town}
whitcoulls | shopping.books | WHITCOULLS {town}
paper plus | shopping.books | PAPER PLUS {town}
spotlight | shopping.hobbies | SPOTLIGHT {town}; SPOTLIGHT STORES
warehouse stationery | shopping.office | WAREHOUSE STATIONERY {town}; WSL {town}
z energy | transport.fuel | Z {town}; Z ENERGY {town}; Z - {town}
bp nz | transport.fuel | BP CONNECT {town}; BP 2GO {town}
mobil nz | transport.fuel | MOBIL {town}; MOBIL {town} {n}
gull | transport.fuel | GULL {town}; GULL NZ
waitomo | transport.fuel | WAITOMO {town}; WAITOMO FUEL
wilson parking | transport.parking | WILSON PARKING; WILSONS PARKING {town}
at parking | transport.parking | AT PARKING; AT MOBILE PARKING
nzta tolls | transport.tolls | NZTA TOLL; NZ TRANSPORT AGENCY TOLL
at hop | transport.transit | AT HOP TOPUP; AUCKLAND TRANSPORT
metrocard | transport.transit | ECAN METROCARD; METROCARD TOPUP
snapper | transport.transit | SNAPPER SERVICES; SNAPPER TOPUP
supercheap auto | transport.auto_service | SUPERCHEAP AUTO {town}; SUPERCHEAP {town}
repco | transport.auto_service | REPCO {town}
vtnz | transport.auto_service | VTNZ {town}; VTNZ WOF {town}
aa insurance | transport.auto_insurance | AA INSURANCE; AA INS
state insurance | transport.auto_insurance | STATE INSURANCE; STATE INS
ami | home.insurance | AMI INSURANCE; AMI INS
tower | home.insurance | TOWER INSURANCE; TOWER LTD
southern cross | health.insurance | SOUTHERN CROSS HEALTH; SCHS
nib nz | health.insurance | NIB NZ LTD; NIB NZ
partners life | financial.life_insurance | PARTNERS LIFE; PARTNERS LIFE LTD
air new zealand | travel.airlines | AIR NZ; AIR NEW ZEALAND; AIRNZ {n}
jetstar | travel.airlines | JETSTAR; JETSTAR AIRWAYS
intercity | travel.rail_bus | INTERCITY COACHLINES; INTERCITY GROUP
interislander | travel.rail_bus | INTERISLANDER; KIWIRAIL INTERISLANDER
jucy | travel.car_rental | JUCY RENTALS; JUCY {town}
house of travel | travel.agencies | HOUSE OF TRAVEL {town}; HOT {town}
flight centre | travel.agencies | FLIGHT CENTRE {town}; FLIGHTCENTRE
bookabach | travel.vacation_rentals | BOOKABACH; BOOK A BACH
mercury | bills.electricity | MERCURY NZ; MERCURY ENERGY
meridian | bills.electricity | MERIDIAN ENERGY; MERIDIAN
genesis | bills.electricity | GENESIS ENERGY; GENESIS
contact energy | bills.electricity | CONTACT ENERGY; CONTACT
electric kiwi | bills.electricity | ELECTRIC KIWI; ELECTRICKIWI
rockgas | bills.natural_gas | ROCKGAS {town}; ROCKGAS LTD
watercare | bills.water | WATERCARE SERVICES; WATERCARE
spark | bills.internet_tv | SPARK NZ; SPARK; SPARK NEW ZEALAND
sky tv | bills.internet_tv | SKY NETWORK TELEVISION; SKY TV
one nz | bills.mobile_phone | ONE NZ; VODAFONE NZ; ONE NZ PREPAY
2degrees | bills.mobile_phone | 2DEGREES MOBILE; 2DEGREES
skinny | bills.mobile_phone | SKINNY MOBILE; SKINNY
neon | bills.streaming | NEON; NEON TV
chemist warehouse | health.pharmacy | CHEMIST WAREHOUSE {town}; CHEMIST WHSE {town}
unichem | health.pharmacy | UNICHEM {town}
life pharmacy | health.pharmacy | LIFE PHARMACY {town}
white cross | health.doctor | WHITE CROSS {town}; WHITECROSS
specsavers | health.vision | SPECSAVERS {town}
les mills | health.fitness | LES MILLS {town}; LESMILLS
hoyts | entertainment.movies | HOYTS {town}; HOYTS CINEMAS
event cinemas | entertainment.movies | EVENT CINEMAS {town}
ticketek | entertainment.live_events | TICKETEK NZ; TICKETEK
eventfinda | entertainment.live_events | EVENTFINDA; EVENTFINDA LTD
eb games | entertainment.gaming | EB GAMES {town}
lotto nz | entertainment.gambling | MYLOTTO; LOTTO NZ; NZ LOTTERIES
tab nz | entertainment.gambling | TAB NZ; TAB ONLINE
just cuts | personal_care.hair | JUST CUTS {town}
mecca | personal_care.beauty | MECCA {town}; MECCA COSMETICA
bunnings | home.improvement | BUNNINGS {n}; BUNNINGS WAREHOUSE {town}; BUNNINGS {town}
mitre 10 | home.improvement | MITRE 10 MEGA {town}; MITRE 10 {town}; M10 MEGA {town}
placemakers | home.improvement | PLACEMAKERS {town}
resene | home.improvement | RESENE {town}; RESENE PAINTS
briscoes | home.furniture | BRISCOES {town}; BRISCOES HOMEWARE
freedom furniture | home.furniture | FREEDOM FURNITURE {town}; FREEDOM {town}
harvey norman | home.furniture | HARVEY NORMAN {town}; HN {town}
oderings | home.garden | ODERINGS {town}; ODERINGS GARDEN CTR
kings plant barn | home.garden | KINGS PLANT BARN {town}
beststart | education.childcare | BESTSTART {town}; BEST START EDUCARE
toyworld | education.toys_baby | TOYWORLD {town}
baby factory | education.toys_baby | BABY FACTORY {town}
animates | other.pets | ANIMATES {town}; ANIMATES VET {town}
petstop | other.pets | PET STOP {town}; PETSTOP
nz post | other.shipping | NZ POST {town}; NZPOST; NZ POST SHOP {town}
spca | other.charity | SPCA; SPCA NZ
red cross nz | other.charity | NZ RED CROSS; RED CROSS SHOP {town}
givealittle | other.charity | GIVEALITTLE; GIVE A LITTLE
michael hill | other.gifts | MICHAEL HILL {town}; MICHAEL HILL JEWELLER
interflora | other.gifts | INTERFLORA; INTERFLORA NZ
waka kotahi | other.government_fees | NZTA REGO; WAKA KOTAHI VEHICLE LIC; NZTA MOTOR VEHICLE REG
dia passports | other.government_fees | DIA PASSPORTS; DEPT OF INTERNAL AFFAIRS
sharesies | financial.investments | SHARESIES; SHARESIES LTD
kernel | financial.investments | KERNEL WEALTH; KERNEL
easy crypto | financial.crypto | EASY CRYPTO; EASYCRYPTO NZ
""")

AU_CHAINS = parse_chains("""
woolworths au | groceries.supermarkets | WOOLWORTHS {n} {town}; WOOLWORTHS METRO {town}; WW METRO {town}
coles | groceries.supermarkets | COLES {n}; COLES {town}; COLES EXPRESS {town}
aldi au | groceries.supermarkets | ALDI STORES {town}; ALDI {n}
iga | groceries.supermarkets | IGA {town}; SUPA IGA {town}; IGA XPRESS
costco au | groceries.warehouse_clubs | COSTCO WHOLESALE {town}; COSTCO AUBURN
7-eleven au | groceries.convenience | 7-ELEVEN {n}; 7 ELEVEN {town}
dan murphys | groceries.liquor | DAN MURPHYS {n}; DAN MURPHY'S {town}
bws | groceries.liquor | BWS {n} {town}; BWS LIQUOR
liquorland au | groceries.liquor | LIQUORLAND {n}; LIQUORLAND {town}
first choice liquor | groceries.liquor | FIRST CHOICE LIQUOR {town}
hellofresh au | groceries.delivery | HELLOFRESH AU; HELLO FRESH AU
gloria jeans | food.coffee | GLORIA JEANS {town}; GLORIA JEAN'S COFFEES
zarraffas | food.coffee | ZARRAFFAS COFFEE {town}
hungry jacks | food.fast_food | HUNGRY JACKS {n}; HUNGRY JACK'S {town}
guzman y gomez | food.fast_food | GUZMAN Y GOMEZ {town}; GYG {town}
oporto | food.fast_food | OPORTO {town}
red rooster | food.fast_food | RED ROOSTER {town}
nandos | food.restaurants | NANDOS {town}; NANDO'S {town}
grill'd | food.restaurants | GRILL'D {town}; GRILLD {town}
menulog | food.delivery | MENULOG; MENULOG PTY LTD
bakers delight au | food.bakery | BAKERS DELIGHT {town}
kmart au | shopping.general | KMART {n}; KMART {town}
big w | shopping.general | BIG W {n}; BIG W {town}
target au | shopping.general | TARGET {n}; TARGET AUSTRALIA
myer | shopping.department_stores | MYER {town}; MYER STORES
david jones | shopping.department_stores | DAVID JONES {town}; DJS {town}
catch | shopping.online | CATCH.COM.AU; CATCH GROUP
gumtree | shopping.online | GUMTREE AU
cotton on au | shopping.clothing | COTTON ON {town}; COTTON ON BODY {town}
uniqlo au | shopping.clothing | UNIQLO {town}
jb hi-fi au | shopping.electronics | JB HI FI {town}; JB HI-FI {n}
officeworks | shopping.office | OFFICEWORKS {n}; OFFICEWORKS {town}
rebel au | shopping.sporting_goods | REBEL {town}; REBEL SPORT
bcf | shopping.sporting_goods | BCF {town}; BOATING CAMPING FISHING
dymocks | shopping.books | DYMOCKS {town}
spotlight au | shopping.hobbies | SPOTLIGHT {town}
ampol | transport.fuel | AMPOL {town}; AMPOL FOODARY {town}; CALTEX {town}
bp au | transport.fuel | BP {town}; BP EXPRESS {town}
shell coles express | transport.fuel | SHELL COLES EXPRESS {n}; COLES EXPRESS {n} {town}
7-eleven fuel | transport.fuel | 7-ELEVEN FUEL {n}
secure parking | transport.parking | SECURE PARKING; SECURE PARKING {town}
wilson parking au | transport.parking | WILSON PARKING {town}
linkt | transport.tolls | LINKT SYDNEY; LINKT MELBOURNE; TRANSURBAN LINKT
opal | transport.transit | OPAL TRANSPORT; TRANSPORTFORNSW OPAL
myki | transport.transit | PTV MYKI; MYKI TOPUP
13cabs | transport.rideshare | 13CABS; CABCHARGE
supercheap auto au | transport.auto_service | SUPERCHEAP AUTO {town}
ultra tune | transport.auto_service | ULTRA TUNE {town}
nrma | transport.auto_insurance | NRMA INSURANCE; NRMA INS
aami | transport.auto_insurance | AAMI; AAMI INSURANCE
budget direct | home.insurance | BUDGET DIRECT; BUDGET DIRECT INS
medibank | health.insurance | MEDIBANK PRIVATE; MEDIBANK
bupa au | health.insurance | BUPA HI PTY LTD; BUPA AUSTRALIA
qantas | travel.airlines | QANTAS AIRWAYS; QANTAS; QF {n}
virgin australia | travel.airlines | VIRGIN AUSTRALIA; VIRGIN AUST
jetstar au | travel.airlines | JETSTAR; JETSTAR AIRWAYS
webjet | travel.agencies | WEBJET; WEBJET LIMITED
agl | bills.electricity | AGL ENERGY; AGL SALES
origin | bills.electricity | ORIGIN ENERGY; ORIGIN
energyaustralia | bills.electricity | ENERGYAUSTRALIA; ENERGY AUSTRALIA
elgas | bills.natural_gas | ELGAS; ELGAS LTD
sydney water | bills.water | SYDNEY WATER; SYDNEY WATER CORP
telstra | bills.mobile_phone | TELSTRA; TELSTRA CORP
optus | bills.mobile_phone | OPTUS; OPTUS BILLING
aussie broadband | bills.internet_tv | AUSSIE BROADBAND; ABB
foxtel | bills.internet_tv | FOXTEL; FOXTEL MANAGEMENT
stan | bills.streaming | STAN.COM.AU; STAN ENTERTAINMENT
chemist warehouse au | health.pharmacy | CHEMIST WAREHOUSE {town}; CWH {town}
priceline | health.pharmacy | PRICELINE PHARMACY {town}
terry white | health.pharmacy | TERRYWHITE CHEMMART {town}
goodlife | health.fitness | GOODLIFE HEALTH CLUBS; GOODLIFE {town}
f45 | health.fitness | F45 TRAINING {town}; F45 {town}
event cinemas au | entertainment.movies | EVENT CINEMAS {town}
hoyts au | entertainment.movies | HOYTS {town}
ticketek au | entertainment.live_events | TICKETEK; TICKETEK PTY LTD
sportsbet | entertainment.gambling | SPORTSBET; SPORTSBET PTY LTD
the lott | entertainment.gambling | THE LOTT; TATTS ONLINE
bunnings au | home.improvement | BUNNINGS {n}; BUNNINGS {town}
mitre 10 au | home.improvement | MITRE 10 {town}
ikea au | home.furniture | IKEA {town}; IKEA PTY LTD
fantastic furniture | home.furniture | FANTASTIC FURNITURE {town}
petbarn | other.pets | PETBARN {town}; PETBARN {n}
petstock | other.pets | PETSTOCK {town}
australia post | other.shipping | AUSTRALIA POST {town}; AUSPOST; AUST POST {n}
the smith family | other.charity | THE SMITH FAMILY
afterpay | financial.loan_payment | AFTERPAY; AFTERPAY PTY LTD
commsec | financial.investments | COMMSEC; COMMSEC SHARES
swyftx | financial.crypto | SWYFTX; SWYFTX PTY LTD
service nsw | other.government_fees | SERVICE NSW; SERVICE NSW REGO
""")

UK_CHAINS = parse_chains("""
tesco | groceries.supermarkets | TESCO STORES {n}; TESCO {town}; TESCO EXPRESS {town}; TESCO METRO {n}
sainsburys | groceries.supermarkets | SAINSBURYS S/MKTS; SAINSBURY'S {town}; SAINSBURYS LOCAL {town}; JS ONLINE GROCERY
asda | groceries.supermarkets | ASDA STORES {n}; ASDA SUPERSTORE {town}; ASDA {town}
morrisons | groceries.supermarkets | WM MORRISONS STORE; MORRISONS {town}; MORRISONS DAILY
aldi uk | groceries.supermarkets | ALDI {n} {town}; ALDI STORES
lidl | groceries.supermarkets | LIDL GB {town}; LIDL {n}
waitrose | groceries.supermarkets | WAITROSE {n}; WAITROSE {town}
co-op | groceries.convenience | CO-OP GROUP {n}; COOP {town}; CO-OP {town}
spar uk | groceries.convenience | SPAR {town}; SPAR {n}
majestic | groceries.liquor | MAJESTIC WINE {town}
ocado | groceries.delivery | OCADO; OCADO RETAIL LTD
gousto | groceries.delivery | GOUSTO; GOUSTO LTD
costa | food.coffee | COSTA COFFEE {n}; COSTA {town}
caffe nero | food.coffee | CAFFE NERO {town}; NERO {n}
pret | food.coffee | PRET A MANGER {town}; PRET {n}
greggs | food.bakery | GREGGS {n}; GREGGS PLC {town}
leon | food.fast_food | LEON {town}; LEON RESTAURANTS
itsu | food.fast_food | ITSU {town}
wasabi | food.fast_food | WASABI {town}
wagamama | food.restaurants | WAGAMAMA {town}; WAGAMAMA LTD
nandos uk | food.restaurants | NANDOS {town}; NANDO'S CHICKENLAND
pizza express | food.pizza | PIZZA EXPRESS {town}; PIZZAEXPRESS
wetherspoons | food.bars | JD WETHERSPOON; WETHERSPOONS {town}; J D WETHERSPOON PLC
deliveroo | food.delivery | DELIVEROO; DELIVEROO.CO.UK
just eat | food.delivery | JUST EAT; JUST-EAT.CO.UK
argos | shopping.general | ARGOS LTD; ARGOS {town}
wilko | shopping.general | WILKO {town}; WILKO RETAIL
b&m | shopping.general | B&M {n}; B & M RETAIL
john lewis | shopping.department_stores | JOHN LEWIS; JOHN LEWIS {town}; JLP {n}
marks & spencer | shopping.department_stores | M&S {town}; MARKS & SPENCER {n}; M & S SIMPLY FOOD
primark | shopping.clothing | PRIMARK {town}; PRIMARK STORES
next | shopping.clothing | NEXT RETAIL; NEXT {town}; NEXT DIRECTORY
currys | shopping.electronics | CURRYS {town}; CURRYS PC WORLD
sports direct | shopping.sporting_goods | SPORTS DIRECT {town}; SPORTSDIRECT.COM
waterstones | shopping.books | WATERSTONES {town}; WATERSTONES BOOKSELLERS
hobbycraft | shopping.hobbies | HOBBYCRAFT {town}
ryman | shopping.office | RYMAN {town}
shell uk | transport.fuel | SHELL {town}; SHELL {n}
esso | transport.fuel | ESSO {town}; ESSO {n}
tfl | transport.transit | TFL TRAVEL CHARGE; TFL.GOV.UK/CP; TRANSPORT FOR LONDON
trainline | travel.rail_bus | TRAINLINE; TRAINLINE.COM
national express | travel.rail_bus | NATIONAL EXPRESS; NATEXPRESS
lner | travel.rail_bus | LNER; LNER TICKETS
ringgo | transport.parking | RINGGO; RINGGO PARKING
ncp | transport.parking | NCP {town}; NCP LTD
dart charge | transport.tolls | DART-CHARGE; DARTFORD CROSSING
kwik fit | transport.auto_service | KWIK FIT {town}; KWIK-FIT
halfords | transport.auto_service | HALFORDS {n}; HALFORDS {town}
admiral | transport.auto_insurance | ADMIRAL INSURANCE; ADMIRAL
direct line | home.insurance | DIRECT LINE INS; DIRECT LINE
aviva | financial.life_insurance | AVIVA; AVIVA LIFE
bupa uk | health.insurance | BUPA; BUPA INSURANCE
british airways | travel.airlines | BRITISH AIRWAYS; BA.COM
easyjet | travel.airlines | EASYJET; EASYJET AIRLINE
ryanair | travel.airlines | RYANAIR; RYANAIR LTD
premier inn | travel.hotels | PREMIER INN {town}; PREMIER INN HOTELS
travelodge | travel.hotels | TRAVELODGE {town}
british gas | bills.natural_gas | BRITISH GAS; BRITISH GAS SERVICES
octopus energy | bills.electricity | OCTOPUS ENERGY; OCTOPUS ENERGY LTD
edf | bills.electricity | EDF ENERGY; EDF ENERGY CUSTOMERS
thames water | bills.water | THAMES WATER; THAMES WATER UTILITIES
bt | bills.internet_tv | BT GROUP PLC; BT
virgin media | bills.internet_tv | VIRGIN MEDIA; VIRGIN MEDIA PYMTS
sky uk | bills.internet_tv | SKY DIGITAL; SKY UK
ee | bills.mobile_phone | EE LIMITED; EE
o2 | bills.mobile_phone | O2; TELEFONICA UK
vodafone uk | bills.mobile_phone | VODAFONE LTD; VODAFONE
tv licence | bills.streaming | TV LICENCE MBP; TV LICENSING
boots | health.pharmacy | BOOTS {n}; BOOTS {town}; BOOTS THE CHEMIST
superdrug | health.pharmacy | SUPERDRUG {town}
specsavers uk | health.vision | SPECSAVERS {town}
puregym | health.fitness | PUREGYM; PURE GYM LTD
the gym group | health.fitness | THE GYM GROUP; GYM GROUP
odeon | entertainment.movies | ODEON {town}; ODEON CINEMAS
vue | entertainment.movies | VUE {town}; VUE CINEMAS
national lottery | entertainment.gambling | NATIONAL LOTTERY; CAMELOT UK
b&q | home.improvement | B&Q {n}; B & Q {town}
screwfix | home.improvement | SCREWFIX {town}; SCREWFIX DIRECT
dunelm | home.furniture | DUNELM {n}; DUNELM {town}
ikea uk | home.furniture | IKEA {town}; IKEA LTD
pets at home | other.pets | PETS AT HOME {town}; PETS AT HOME {n}
royal mail | other.shipping | ROYAL MAIL; POST OFFICE {town}
oxfam | other.charity | OXFAM; OXFAM GB
dvla | other.government_fees | DVLA VEHICLE TAX; DVLA
klarna | financial.loan_payment | KLARNA; KLARNA UK
vanguard uk | financial.investments | VANGUARD ASSET; VANGUARD INVESTOR
""")

# Brands of data/merchants.csv that people print in every country (as the CSV names them).
GLOBAL_BRANDS = (
    "Netflix", "Spotify", "Disney+", "YouTube Premium", "Apple Services", "Google One", "Google Play",
    "Microsoft 365", "Adobe", "Dropbox", "OpenAI ChatGPT", "Amazon", "AliExpress", "Temu", "eBay", "Etsy", "Uber",
    "Uber Eats", "Airbnb", "Booking.com", "Expedia", "Hotels.com", "McDonald's", "KFC", "Subway", "Starbucks",
    "Domino's", "Pizza Hut", "Steam", "PlayStation Network", "Xbox", "Nintendo", "Coursera", "Udemy", "Duolingo",
    "Audible", "Amazon Kindle", "Hilton", "Marriott", "H&M", "Zara", "Uniqlo", "Nike", "Adidas", "Lululemon",
    "Apple Store", "Wise", "Coinbase", "Lime", "Avis", "Hertz", "GoFundMe", "Anytime Fitness", "Sephora", "Shein",
    "LEGO", "PayPal",
)

TOWNS = {
    "NZ": ("PAPANUI", "RICCARTON", "PONSONBY", "NEWMARKET", "ALBANY", "TAKAPUNA", "HENDERSON", "MANUKAU",
           "BOTANY", "SYLVIA PARK", "HORNBY", "MERIVALE", "SYDENHAM", "LOWER HUTT", "PETONE", "PORIRUA",
           "JOHNSONVILLE", "HAMILTON", "TAURANGA", "MT MAUNGANUI", "DUNEDIN", "NELSON", "NAPIER", "HASTINGS",
           "PALMERSTON NTH", "ROTORUA", "WHANGAREI", "NEW PLYMOUTH", "QUEENSTOWN", "WANAKA", "INVERCARGILL",
           "TIMARU", "RANGIORA", "ROLLESTON", "TE RAPA", "WELLINGTON", "AUCKLAND", "CHRISTCHURCH", "KARORI",
           "MT EDEN", "REMUERA", "GREY LYNN", "ST LUKES", "WESTGATE", "BELFAST", "HALSWELL"),
    "AU": ("PARRAMATTA NSW", "CHATSWOOD NSW", "BONDI JUNCTION NSW", "NEWTOWN NSW", "PENRITH NSW",
           "CASTLE HILL NSW", "MARRICKVILLE NSW", "RICHMOND VIC", "FITZROY VIC", "CHADSTONE VIC",
           "FRANKSTON VIC", "BOX HILL VIC", "GEELONG VIC", "BRUNSWICK VIC", "CARINDALE QLD",
           "CHERMSIDE QLD", "SOUTHPORT QLD", "TOOWOOMBA QLD", "FORTITUDE VALLEY QLD", "FREMANTLE WA",
           "JOONDALUP WA", "SUBIACO WA", "GLENELG SA", "MARION SA", "BELCONNEN ACT", "HOBART TAS",
           "DARWIN NT", "NEWCASTLE NSW", "WOLLONGONG NSW", "CAIRNS QLD"),
    "UK": ("LONDON", "MANCHESTER", "LEEDS", "BRISTOL", "BRIGHTON", "CROYDON", "CAMDEN", "ISLINGTON",
           "CLAPHAM", "READING", "OXFORD", "CAMBRIDGE", "BATH", "YORK", "LEICESTER", "NOTTINGHAM",
           "SHEFFIELD", "GLASGOW", "EDINBURGH", "CARDIFF", "NORWICH", "MILTON KEYNES", "GUILDFORD",
           "STOCKPORT", "HARROGATE", "HACKNEY", "WIMBLEDON", "EXETER", "SOUTHAMPTON", "LIVERPOOL"),
    "US": ("SAN FRANCISCO CA", "OAKLAND CA", "LOS ANGELES CA", "SAN DIEGO CA", "SEATTLE WA", "PORTLAND OR",
           "DENVER CO", "BOULDER CO", "AUSTIN TX", "HOUSTON TX", "DALLAS TX", "CHICAGO IL", "EVANSTON IL",
           "NEW YORK NY", "BROOKLYN NY", "BOSTON MA", "CAMBRIDGE MA", "MIAMI FL", "ORLANDO FL",
           "ATLANTA GA", "PHOENIX AZ", "TEMPE AZ", "MINNEAPOLIS MN", "PHILADELPHIA PA", "NASHVILLE TN",
           "CHARLOTTE NC", "RALEIGH NC", "COLUMBUS OH", "ARLINGTON VA", "MADISON WI", "SANTA ROSA CA"),
}

FIRST_NAMES = ("JAMES", "OLIVIA", "JACK", "CHARLOTTE", "WILLIAM", "AMELIA", "NOAH", "ISLA", "OLIVER", "MIA",
               "LIAM", "EMMA", "LUCAS", "SOPHIE", "HENRY", "GRACE", "THOMAS", "RUBY", "SAMUEL", "CHLOE",
               "DANIEL", "HANNAH", "MATTHEW", "ELLA", "JOSHUA", "ZOE", "BEN", "KATE", "SAM", "LUCY",
               "ANDREW", "RACHEL", "DAVID", "SARAH", "MICHAEL", "JESSICA", "PRIYA", "RAJ", "WEI", "MEI",
               "HANA", "ARJUN", "FATIMA", "OMAR", "ANA", "LUIS", "SIONE", "MERE")
SURNAMES = {
    "NZ": ("SMITH", "WILLIAMS", "BROWN", "WILSON", "TAYLOR", "JONES", "NGATA", "TE WHARE", "PARATA",
           "HENARE", "MCDONALD", "CAMPBELL", "STEWART", "ANDERSON", "THOMPSON", "WALKER", "SINGH", "PATEL",
           "WANG", "LI", "TUPOU", "FALE", "MORGAN", "HARRIS", "KING", "ROBINSON"),
    "AU": ("SMITH", "JONES", "WILLIAMS", "BROWN", "WILSON", "TAYLOR", "NGUYEN", "JOHNSON", "WHITE",
           "MARTIN", "ANDERSON", "THOMPSON", "NGUYEN", "TRAN", "KELLY", "RYAN", "MURPHY", "PAPADOPOULOS",
           "ROSSI", "CHEN", "SINGH", "O'BRIEN", "WALSH", "CLARKE"),
    "UK": ("SMITH", "JONES", "TAYLOR", "BROWN", "WILLIAMS", "WILSON", "JOHNSON", "DAVIES", "PATEL", "WRIGHT",
           "EVANS", "THOMAS", "ROBERTS", "KHAN", "HUGHES", "EDWARDS", "GREEN", "HALL", "WOOD", "MURPHY",
           "HUSSAIN", "MACDONALD", "REID", "FRASER"),
    "US": ("SMITH", "JOHNSON", "WILLIAMS", "BROWN", "JONES", "GARCIA", "MILLER", "DAVIS", "RODRIGUEZ",
           "MARTINEZ", "HERNANDEZ", "LOPEZ", "GONZALEZ", "WILSON", "ANDERSON", "THOMAS", "TAYLOR", "MOORE",
           "JACKSON", "LEE", "KIM", "NGUYEN", "PATEL", "COHEN", "OKAFOR"),
}

# Words that open local business names. Most carry no hint of what the business sells.
STEMS = {
    "NZ": ("KOWHAI", "TUI", "KEA", "POHUTUKAWA", "MOANA", "RIMU", "TOTARA", "MANUKA", "KAURI", "AROHA",
           "KIWI", "WAKA", "POUNAMU", "TASMAN", "SOUTHERN", "HARBOURSIDE", "CORNER", "FERN", "KAI", "TAKAHE"),
    "AU": ("BONDI", "WATTLE", "BANKSIA", "JACARANDA", "COASTAL", "OUTBACK", "KOOKABURRA", "GUM TREE",
           "HARBOUR", "SOUTHERN CROSS", "BRONTE", "MANLY", "GOLDEN", "BUSH", "REEF", "SALTWATER"),
    "UK": ("CROWN", "ROYAL", "VICTORIA", "ALBION", "ROSE", "KINGS", "QUEENS", "RED LION", "WHITE HART",
           "STATION", "MARKET", "OLD", "THAMES", "HIGHGATE", "BRAMBLE", "WILLOW", "ABBEY", "MERCIA"),
    "US": ("MAPLE", "OAK", "HARBOR", "SUNSET", "MAIN ST", "UNION", "GOLDEN", "RIVER", "LUCKY", "HIGHLAND",
           "MISSION", "DOWNTOWN", "HILLTOP", "BAYVIEW", "LIBERTY", "PACIFIC", "PIONEER", "SUMMIT", "BIRCH"),
}
ADJECTIVES = ("HUNGRY", "LITTLE", "LAZY", "GOLDEN", "CROOKED", "SALTY", "HAPPY", "WILD", "RUSTY", "BLACK",
              "GREEN", "LUCKY", "HIDDEN", "HUMBLE", "BRAVE", "JOLLY", "CLEVER", "BLUE", "SILVER", "SUNNY")
NOUNS = ("FOX", "BIRD", "PIG", "GOAT", "OWL", "KETTLE", "SPOON", "FORK", "ANCHOR", "LANTERN", "BEE", "HARE",
         "DUCK", "FERN", "BARREL", "PRESS", "LARDER", "PANTRY", "ROOSTER", "WHALE", "MOTH", "PEAR")
MADE_UP = ("MOJO", "ZEPHYR", "ATOMIC", "NOMAD", "KOKAKO", "VERVE", "LUMEN", "OCTAVE", "ORBIT", "TANDEM",
           "PIVOT", "ELEMENT", "FLUX", "ECHO", "MAKO", "OHANA", "SOLACE", "MERAKI", "HYGGE", "KIN", "ROAM",
           "DRIFT", "HAVEN", "NORTH", "ALTITUDE", "TIDE", "SWELL", "PEPPER", "SAGE", "JUNIPER", "INDIGO")
COMPANY_SUFFIXES = {"NZ": ("LTD", "LIMITED", ""), "AU": ("PTY LTD", "P/L", ""), "UK": ("LTD", "LIMITED", ""),
                    "US": ("LLC", "INC", "")}
# Words local business names carry in these countries beside the taxonomy's (US) keywords.
LOCAL_WORDS = {
    "groceries.convenience": {"NZ": ("DAIRY", "SUPERETTE", "FOODMARKET"), "AU": ("MIXED BUSINESS", "FOODWORKS"),
                              "UK": ("NEWSAGENT", "OFF LICENCE", "LOCAL"), "US": ()},
    "groceries.liquor": {"NZ": ("BOTTLE STORE",), "AU": ("BOTTLE-O", "BOTTLESHOP", "CELLARS"),
                         "UK": ("OFF LICENCE", "WINE MERCHANTS"), "US": ()},
    "food.fast_food": {"NZ": ("TAKEAWAYS", "FISH N CHIPS", "KEBABS"), "AU": ("TAKEAWAY", "FISH & CHIPS", "KEBABS"),
                       "UK": ("TAKEAWAY", "CHIPPY", "FISH BAR", "KEBAB HOUSE"), "US": ()},
    "health.pharmacy": {"NZ": ("CHEMIST", "PHARMACY"), "AU": ("CHEMIST", "PHARMACY"), "UK": ("CHEMIST", "PHARMACY"),
                        "US": ()},
    "health.doctor": {"NZ": ("MEDICAL CENTRE", "HEALTH CENTRE", "FAMILY DOCTORS"), "AU": ("MEDICAL CENTRE", "GP"),
                      "UK": ("SURGERY", "MEDICAL PRACTICE"), "US": ()},
    "transport.fuel": {"NZ": ("FUELS", "SERVICE STATION"), "AU": ("SERVICE STATION", "PETROLEUM"),
                       "UK": ("SERVICE STATION", "FILLING STN"), "US": ()},
    "transport.auto_service": {"NZ": ("AUTOMOTIVE", "MOTORS", "PANELBEATERS"), "AU": ("MECHANICAL", "AUTO"),
                               "UK": ("GARAGE", "MOT CENTRE", "MOTORS"), "US": ()},
    "food.bars": {"NZ": ("TAVERN", "HOTEL"), "AU": ("HOTEL", "TAVERN"), "UK": ("ARMS", "INN", "TAVERN"), "US": ()},
}
