"""User-made taxonomies: how people of a few habits file their spending, unlike our taxonomy.

A style lists its classes, each with the categories of ours (or whole groups) it takes in, one a
line as ``Class = category group ...``. A user of the style then draws, from the seed:
- quirks (``category -> Class``): the category filed under another class than the style's usual;
- splits (``category => Class``): some of the category's merchants go to a class of their own
  (one user's "Kids" takes a few shops, another's "Big shop" one supermarket);
- renames: a class called by another name.
A class may name a whole group; a category named on its own wins over its group. A category no
class takes goes to the style's ``fallback`` class.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Style:
    """A way of filing spending: classes of ours merged and renamed, and the quirks users add."""

    name: str
    classes: dict[str, tuple[str, ...]]
    quirks: tuple[tuple[str, str], ...]
    splits: tuple[tuple[str, str], ...]
    fallback: str


def _style(name: str, classes: str, quirks: str, splits: str, fallback: str) -> Style:
    mapping = {}
    for line in classes.strip().splitlines():
        label, members = line.split("=")
        mapping[label.strip()] = tuple(members.split())
    return Style(name, mapping, _pairs(quirks, "->"), _pairs(splits, "=>"), fallback)


def _pairs(text: str, arrow: str) -> tuple[tuple[str, str], ...]:
    return tuple((a.strip(), b.strip()) for a, b in (line.split(arrow) for line in text.strip().splitlines()))


NZ_HOUSEHOLD = _style("nz household", """
Groceries = groceries.supermarkets groceries.warehouse_clubs groceries.specialty groceries.delivery
Dairy & snacks = groceries.convenience
Alcohol = groceries.liquor food.bars
Coffee = food.coffee food.bakery
Eating out = food.restaurants
Takeaways = food.fast_food food.pizza food.delivery
Household = shopping.general home.furniture
Online shopping = shopping.online
Clothing = shopping.clothing shopping.department_stores
Tech = shopping.electronics bills.software
Hobbies = shopping.hobbies shopping.books shopping.sporting_goods
Petrol = transport.fuel
Car = transport.auto_service transport.car_wash transport.tolls other.government_fees
Parking = transport.parking
Public transport = transport.transit transport.rideshare
Holidays = travel
Power = bills.electricity bills.natural_gas
Water = bills.water
Internet = bills.internet_tv
Phone = bills.mobile_phone
Subscriptions = bills.streaming education.online_courses
Pharmacy = health.pharmacy
Doctor = health.doctor health.hospital
Dentist = health.dentist health.vision
Gym = health.fitness entertainment.sports_recreation
Insurance = health.insurance home.insurance transport.auto_insurance financial.life_insurance
Entertainment = entertainment.movies entertainment.live_events entertainment.attractions entertainment.gaming
Lotto = entertainment.gambling
Haircuts = personal_care.hair
Personal care = personal_care.nails personal_care.spa personal_care.beauty personal_care.laundry
Rent = home.rent home.hoa
Mortgage = home.mortgage
Home Improvement = home.improvement home.services
Garden = home.garden
School fees = education.tuition
Daycare = education.childcare
Kids = education.kids_activities education.toys_baby
Bank fees = financial.bank_fees financial.atm_fees financial.interest_charged
Loan = financial.loan_payment education.student_loans
Credit card = financial.credit_card_payment
Investments = financial.investments financial.crypto
Payments to people = transfers.p2p
Money from people = transfers.p2p_received
Transfer = transfers.internal_out transfers.internal_in
Cash = transfers.atm_withdrawal transfers.cash_deposit
Salary = income.payroll
Side business = income.business
Interest = income.interest
Refunds = income.refunds
Tax refund = income.tax_refund
Benefits = income.government_benefits
Other income = income.other transfers.check_deposit
Donations = other.charity
Gifts = other.gifts
Rates = other.taxes
Pets = other.pets
Post = other.shipping
Professional = other.professional_services
""", """
food.coffee -> Eating out
food.bakery -> Groceries
food.fast_food -> Eating out
food.bars -> Eating out
groceries.convenience -> Groceries
groceries.liquor -> Groceries
transport.parking -> Car
transport.fuel -> Car
shopping.department_stores -> Household
health.pharmacy -> Doctor
health.dentist -> Doctor
bills.water -> Rates
bills.internet_tv -> Phone
personal_care.hair -> Personal care
home.garden -> Home Improvement
education.childcare -> Kids
other.pets -> Household
transfers.p2p -> Transfer
bills.software -> Subscriptions
""", """
groceries.supermarkets => Big shop
shopping.general => Kids
shopping.online => Gifts
shopping.clothing => Kids
food.restaurants => Date night
shopping.office => Side business
transport.fuel => Side business
other.taxes => Tax
home.improvement => Renovation
""", "Misc")

US_MINT = _style("us mint-like", """
Groceries = groceries.supermarkets groceries.warehouse_clubs groceries.specialty groceries.delivery
Convenience Store = groceries.convenience
Alcohol & Bars = groceries.liquor food.bars
Coffee Shops = food.coffee
Fast Food = food.fast_food food.pizza
Restaurants = food.restaurants
Food Delivery = food.delivery
Dessert = food.bakery
Shopping = shopping.general shopping.department_stores
Amazon = shopping.online
Clothing = shopping.clothing
Electronics & Software = shopping.electronics bills.software
Sporting Goods = shopping.sporting_goods
Books = shopping.books
Hobbies = shopping.hobbies
Office Supplies = shopping.office
Gas & Fuel = transport.fuel
Parking = transport.parking transport.tolls
Ride Share = transport.rideshare transport.transit
Service & Parts = transport.auto_service transport.car_wash
Auto Insurance = transport.auto_insurance
Air Travel = travel.airlines
Hotel = travel.hotels travel.vacation_rentals
Rental Car & Taxi = travel.car_rental travel.rail_bus
Vacation = travel.agencies
Utilities = bills.electricity bills.natural_gas bills.water
Internet = bills.internet_tv
Mobile Phone = bills.mobile_phone
Streaming = bills.streaming
Pharmacy = health.pharmacy
Doctor = health.doctor health.hospital health.vision
Dentist = health.dentist
Gym = health.fitness
Health Insurance = health.insurance
Entertainment = entertainment.movies entertainment.live_events entertainment.attractions entertainment.gambling
Games = entertainment.gaming
Sports = entertainment.sports_recreation
Hair = personal_care.hair personal_care.nails
Spa & Massage = personal_care.spa personal_care.beauty
Laundry = personal_care.laundry
Mortgage & Rent = home.rent home.mortgage home.hoa
Home Improvement = home.improvement home.services
Furnishings = home.furniture
Lawn & Garden = home.garden
Home Insurance = home.insurance
Tuition = education.tuition education.online_courses
Student Loan = education.student_loans
Babysitter & Daycare = education.childcare
Kids Activities = education.kids_activities education.toys_baby
Bank Fee = financial.bank_fees financial.atm_fees
Finance Charge = financial.interest_charged
Loans = financial.loan_payment
Credit Card Payment = financial.credit_card_payment
Investments = financial.investments financial.crypto
Life Insurance = financial.life_insurance
Transfer = transfers.internal_out transfers.internal_in transfers.p2p transfers.p2p_received
Cash & ATM = transfers.atm_withdrawal transfers.cash_deposit
Paycheck = income.payroll
Business Income = income.business
Interest Income = income.interest
Returned Purchase = income.refunds
Income = income.tax_refund income.government_benefits income.other transfers.check_deposit
Charity = other.charity
Gift = other.gifts
Taxes = other.taxes other.government_fees
Pet Food & Supplies = other.pets
Shipping = other.shipping
Legal = other.professional_services
""", """
food.coffee -> Restaurants
food.bakery -> Restaurants
food.delivery -> Restaurants
groceries.convenience -> Groceries
shopping.online -> Shopping
shopping.books -> Shopping
transport.rideshare -> Rental Car & Taxi
bills.streaming -> Entertainment
health.fitness -> Sports
home.furniture -> Home Improvement
transfers.p2p -> Payments
transfers.p2p_received -> Income
personal_care.laundry -> Shopping
""", """
other.pets => Veterinary
shopping.online => Kids
food.restaurants => Business Meals
shopping.electronics => Business Services
travel.airlines => Business Travel
transport.fuel => Business Travel
groceries.supermarkets => Household
""", "Uncategorized")

UK_MONZO = _style("uk monzo-like", """
Groceries = groceries
Booze = groceries.liquor food.bars
Coffee = food.coffee food.bakery
Eating out = food.restaurants food.pizza
Takeaway = food.fast_food food.delivery
Shopping = shopping.general shopping.department_stores shopping.online shopping.books shopping.office
Clothes = shopping.clothing
Gadgets = shopping.electronics
Hobbies = shopping.hobbies shopping.sporting_goods entertainment.gaming
Fuel = transport.fuel
Car = transport.auto_service transport.car_wash transport.auto_insurance transport.tolls transport.parking
Transport = transport.transit travel.rail_bus transport.rideshare
Holidays = travel.airlines travel.hotels travel.vacation_rentals travel.car_rental travel.agencies
Energy = bills.electricity bills.natural_gas
Water = bills.water
Broadband & TV = bills.internet_tv
Phone = bills.mobile_phone
Subscriptions = bills.streaming bills.software education.online_courses
Health = health.pharmacy health.doctor health.dentist health.vision health.hospital
Gym = health.fitness
Insurance = health.insurance home.insurance financial.life_insurance
Entertainment = entertainment.movies entertainment.live_events entertainment.attractions entertainment.sports_recreation
Betting = entertainment.gambling
Personal care = personal_care
Rent = home.rent
Mortgage = home.mortgage home.hoa
Home = home.improvement home.furniture home.garden home.services
Family = education
Bank charges = financial.bank_fees financial.atm_fees financial.interest_charged
Debt = financial.loan_payment financial.credit_card_payment
Investing = financial.investments financial.crypto
Friends = transfers.p2p transfers.p2p_received
Savings = transfers.internal_out transfers.internal_in
Cash = transfers.atm_withdrawal transfers.cash_deposit transfers.check_deposit
Salary = income.payroll
Side hustle = income.business
Interest = income.interest
Refunds = income.refunds
Benefits = income.government_benefits income.tax_refund
Income = income.other
Charity = other.charity
Gifts = other.gifts
Council Tax = other.taxes other.government_fees
Pets = other.pets
Post = other.shipping
Accountant = other.professional_services
""", """
food.coffee -> Eating out
food.fast_food -> Eating out
groceries.convenience -> Snacks
transport.parking -> Transport
transport.fuel -> Car
health.pharmacy -> Personal care
home.garden -> Garden
education.childcare -> Childcare
transfers.p2p_received -> Income
financial.credit_card_payment -> Credit card
""", """
groceries.supermarkets => Big shop
shopping.online => Gifts
food.restaurants => Work lunches
shopping.general => Kids
food.coffee => Work lunches
transport.transit => Commute
entertainment.live_events => Gigs
""", "General")

AU_TREE = _style("au type::main::leaf", """
Expense::Food::Groceries = groceries.supermarkets groceries.warehouse_clubs groceries.specialty groceries.delivery
Expense::Food::Convenience = groceries.convenience
Expense::Food::Alcohol = groceries.liquor food.bars
Expense::Food::Coffee = food.coffee food.bakery
Expense::Food::Dining = food.restaurants
Expense::Food::Takeaway = food.fast_food food.pizza food.delivery
Expense::Shopping::General = shopping.general shopping.department_stores shopping.office
Expense::Shopping::Online = shopping.online
Expense::Shopping::Clothing = shopping.clothing
Expense::Shopping::Electronics = shopping.electronics
Expense::Shopping::Hobbies = shopping.hobbies shopping.books shopping.sporting_goods
Expense::Transport::Fuel = transport.fuel
Expense::Transport::Parking & Tolls = transport.parking transport.tolls
Expense::Transport::Public = transport.transit transport.rideshare
Expense::Transport::Car = transport.auto_service transport.car_wash other.government_fees
Expense::Travel = travel
Expense::Utilities::Energy = bills.electricity bills.natural_gas
Expense::Utilities::Water = bills.water
Expense::Utilities::Internet = bills.internet_tv
Expense::Utilities::Mobile = bills.mobile_phone
Expense::Subscriptions = bills.streaming bills.software education.online_courses
Expense::Health::Medical = health.pharmacy health.doctor health.dentist health.vision health.hospital
Expense::Health::Fitness = health.fitness
Expense::Insurance::Health = health.insurance
Expense::Insurance::Car = transport.auto_insurance
Expense::Insurance::Home = home.insurance financial.life_insurance
Expense::Entertainment = entertainment
Expense::Entertainment::Gambling = entertainment.gambling
Expense::Personal Care = personal_care
Expense::Housing::Rent = home.rent
Expense::Housing::Mortgage = home.mortgage
Expense::Housing::Strata = home.hoa
Expense::Home Improvement = home.improvement home.services home.garden
Expense::Home::Furniture = home.furniture
Expense::Kids::School = education.tuition
Expense::Kids::Childcare = education.childcare
Expense::Kids = education.kids_activities education.toys_baby
Expense::Finance::Fees = financial.bank_fees financial.atm_fees
Expense::Finance::Interest = financial.interest_charged
Expense::Finance::Loans = financial.loan_payment education.student_loans
Expense::Gifts & Donations = other.gifts other.charity
Expense::Tax = other.taxes
Expense::Pets = other.pets
Expense::Postage = other.shipping
Expense::Professional Services = other.professional_services
Transfer::Credit Card = financial.credit_card_payment
Transfer::Savings = transfers.internal_out transfers.internal_in
Transfer::Investments = financial.investments financial.crypto
Transfer::People = transfers.p2p
Transfer::Cash = transfers.atm_withdrawal transfers.cash_deposit
Income::Salary = income.payroll
Income::Side Business = income.business
Income::Interest = income.interest
Income::Refunds = income.refunds
Income::Government = income.government_benefits income.tax_refund
Income::Other = income.other transfers.p2p_received transfers.check_deposit
""", """
food.coffee -> Expense::Food::Dining
food.fast_food -> Expense::Food::Dining
groceries.liquor -> Expense::Food::Groceries
groceries.convenience -> Expense::Food::Groceries
shopping.online -> Expense::Shopping::General
transport.parking -> Expense::Transport::Car
transport.fuel -> Expense::Transport::Car
health.fitness -> Expense::Health::Medical
home.furniture -> Expense::Home Improvement
transfers.p2p -> Transfer::Savings
financial.interest_charged -> Expense::Finance::Fees
""", """
shopping.general => Expense::Kids
food.restaurants => Expense::Food::Date Night
groceries.supermarkets => Expense::Food::Big Shop
shopping.electronics => Expense::Side Business
shopping.office => Expense::Side Business
home.improvement => Expense::Home::Renovation
""", "Expense::Other")

STYLES = {"NZ": NZ_HOUSEHOLD, "US": US_MINT, "UK": UK_MONZO, "AU": AU_TREE}
RENAMES = {"Eating out": ("Dining out", "Restaurants & cafes"), "Groceries": ("Supermarket", "Food shopping"),
           "Petrol": ("Fuel",), "Power": ("Electricity",), "Salary": ("Pay", "Wages"), "Kids": ("Children",),
           "Holidays": ("Travel",), "Takeaways": ("Takeout",), "Transfer": ("Own accounts", "Internal transfer"),
           "Household": ("Home stuff",), "Friends": ("Splitting bills",), "Shopping": ("Stuff",)}
