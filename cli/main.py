"""The ``manna`` command: demo, submit, job, train, db upgrade."""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import sys
import time
import uuid
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipeline.settings import get_settings, redact_url

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from services.jobs import Outcome

# soft_wrap: a message stays one line in a log or a pipe, however narrow the terminal.
console = Console(stderr=True, soft_wrap=True)

# Exit codes, also in the README: 0 done; 1 done, but rows were rejected or nothing matched;
# 2 a usage error or a known failure (a server down, a missing database, an invalid setting, an
# unusable file); 3 gave up waiting (submit --timeout).
EXIT_REJECTED = EXIT_NOT_FOUND = 1
EXIT_FAILURE = 2
EXIT_TIMEOUT = 3


class Failure(click.ClickException):
    """A known failure: one line naming the problem and its fix, exit code 2."""

    exit_code = EXIT_FAILURE


class NotFound(click.ClickException):
    """What was asked for does not exist: exit code 1."""

    exit_code = EXIT_NOT_FOUND


class MannaGroup(click.Group):
    """Turns a known failure (services.errors) into one line; --debug or MANNA_DEBUG=1 keeps the traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort, KeyboardInterrupt):
            raise
        except Exception as err:
            from services.errors import describe

            failure = describe(err)
            if failure is None or (ctx.obj or {}).get("debug"):
                raise
            raise Failure(f"{failure} (--debug shows the traceback)") from None


@click.group(cls=MannaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="manna", message="manna %(version)s")
@click.option("--debug", is_flag=True, envvar="MANNA_DEBUG",
              help="Show the traceback of a known failure too (or set MANNA_DEBUG=1).")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Manna: categorize bank transactions with rules and a model, through Celery."""
    ctx.obj = {"debug": debug}


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="The revision to reach (manna db history).")
def db_upgrade(revision: str) -> None:
    """Create or migrate the schema (Alembic)."""
    from db.migrate import upgrade

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.effective_database_url, revision)
    console.print(f"schema at {revision} on {redact_url(settings.effective_database_url)}")


@db.command("current")
def db_current() -> None:
    """The revision the database is at (none before `manna db upgrade`)."""
    from db.migrate import current, history

    settings = get_settings()
    revision = current(settings.effective_database_url)
    head = history()[-1][0]
    note = "the latest" if revision == head else f"the latest is {head}: run manna db upgrade"
    click.echo(revision or "none")
    console.print(f"{redact_url(settings.effective_database_url)}: {revision or 'no schema'} ({note})")


@db.command("history")
def db_history() -> None:
    """Every migration, oldest first."""
    from db.migrate import history

    for revision, message in history():
        click.echo(f"{revision}  {message}")


@db.command("downgrade")
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Do it without asking (tables added after REVISION are dropped).")
def db_downgrade(revision: str, yes: bool) -> None:
    """Step the schema back to REVISION (base: nothing); data in what is removed is lost."""
    from db.migrate import downgrade

    settings = get_settings()
    if not yes:
        click.confirm(f"downgrade {redact_url(settings.effective_database_url)} to {revision}? Data in tables and "
                      "columns added after it is lost", abort=True, err=True)
    downgrade(settings.effective_database_url, revision)
    console.print(f"schema at {revision}")


@main.command()
@click.option("--data", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Labeled .csv file (description,amount,category[,date,account_id,mcc]); default: generated data.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="With --data: write the model here instead of registering it.")
@click.option("--rules", "rules_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="With --data: rules for the file's taxonomy (default rules apply only to ours).")
@click.option("-n", "--count", type=click.IntRange(min=2), default=20_000, show_default=True,
              help="Generated training rows (without --data).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the generated training rows (without --data).")
@click.option("--activate/--no-activate", default=None,
              help="Without --data: serve it as variant A (default: only if none is).")
@click.option("--country", default=None, callback=lambda _c, _p, v: _country_code(v), metavar="CC",
              help="With --data: whose brands the model knows (ISO 3166 code, e.g. NZ); "
                   "default: the country of the file's currency column, else every country's.")
def train(data: Path | None, out: Path | None, rules_path: Path | None, count: int, seed: int,
          activate: bool | None, country: str | None) -> None:
    """Train a model: on a labeled file (--data --out), or the default model on generated data."""
    _refuse_unused(("count", "seed", "activate") if data is not None else ("out", "rules_path", "country"),
                   "with --data" if data is not None else "without --data")
    if data is not None:
        _warn_if_not_utf8(data, ("description", "amount", "category"))
        from pipeline.offline import DataFileError, train_file
        from pipeline.rules import RuleError

        if out is None:
            raise click.UsageError("--data needs --out DIR")
        try:
            model = train_file(data, out, rules_path=rules_path, country=country, progress=console.print)
        except (DataFileError, RuleError) as err:
            raise Failure(str(err)) from None
        click.echo(model.version)
        return
    from services.training import train_default_model

    _ensure_schema()
    version = train_default_model(get_settings(), rows=count, seed=seed, activate=activate, progress=console.print)
    click.echo(version)


def _refuse_unused(names: Sequence[str], when: str) -> None:
    """A usage error naming the options of ``names`` given on the command line: they would do nothing ``when``."""
    context = click.get_current_context()
    given = ["/".join(o for o in (*param.opts, *param.secondary_opts) if o.startswith("--"))
             for param in context.command.params
             if param.name in names and context.get_parameter_source(param.name) is not ParameterSource.DEFAULT]
    if given:
        raise click.UsageError(f"{', '.join(given)} do{'es' if len(given) == 1 else ''} nothing {when}")


def _country_code(value: str | None) -> str | None:
    if value is not None and not (len(value) == 2 and value.isascii() and value.isalpha()):
        raise click.BadParameter(f"{value!r} is not a two-letter ISO 3166 country code such as NZ, GB or US")
    code = value.upper() if value else None
    code = "GB" if code == "UK" else code  # UK is what people write; ISO 3166 (and the brand catalog) say GB
    if code is not None:
        from pipeline.brands import load_catalog
        from pipeline.currencies import ISO_4217, country_of_currency

        if not any(code in (brand.include or ()) for brand in load_catalog().brands):
            if code not in {country_of_currency(currency) for currency in ISO_4217}:
                raise click.BadParameter(f"{value!r} is neither a country of the brand catalog nor of a currency; "
                                         "is it the ISO 3166 code of the country (NZ, AU, GB, US...)?")
            console.print(f"no brand of the catalog trades in {code} by name: the model knows world-wide brands only")
    return code


@main.command()
@click.option("--model", "model_dir", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A model folder written by manna train --data --out.")
@click.option("--data", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CSV or JSON Lines with description and amount (optional: id or transaction_id, account_id).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The predictions as CSV, one row per input row, in order: id (transaction_id, id or the row "
                   "number), category, confidence, confidence_level, decided_by, rule_id, reason, explanation.")
@click.option("--batch-size", type=click.IntRange(min=1), default=20_000, show_default=True,
              help="Rows decided at a time (memory vs speed). The merchant layer answers a merchant's later "
                   "lines from an earlier batch, so this moves some confidences (MANNA_MERCHANT_CACHE=0: it does not).")
@click.option("--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Processes deciding batches side by side (one per core at most: more are cut to the cores; "
                   "each costs about 2 s to start, and a process starts only when it has a batch). "
                   "Each keeps its own cache, so a line the merchant layer answers with one process may be "
                   "decided by the model with several.")
def predict(model_dir: Path, data: Path, out: Path, batch_size: int, jobs: int) -> None:
    """Categorize a CSV offline (no broker, no database): one prediction per input row, in order."""
    if out.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        raise click.BadParameter(f"{out.name}: predictions are written as CSV; name the file .csv", param_hint="--out")
    _warn_if_not_utf8(data, ("description", "amount"))
    from pipeline.model import ArtifactError, import_model_classes
    from pipeline.offline import DataFileError, predict_file
    from pipeline.predict_processes import PredictProcessError
    from pipeline.rules import RuleError

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if jobs > cores:  # more processes than cores only share them, each paying its start
        console.print(f"--jobs {jobs}: {cores} core(s) to run on, so {cores} process(es)")
        jobs = cores
    import_model_classes()  # the rows/s below time loading the model and predicting, not importing sklearn
    started = time.perf_counter()
    try:
        with console.status("predicting") as status:
            rows = predict_file(model_dir, data, out, batch_size=batch_size, jobs=jobs,
                                progress=lambda n: status.update(f"predicting: {n:,} rows"))
    except (DataFileError, ArtifactError, RuleError, PredictProcessError) as err:
        raise Failure(str(err)) from None
    elapsed = time.perf_counter() - started
    console.print(f"{rows:,} predictions in {elapsed:.1f} s ({rows / max(elapsed, 1e-9):,.0f} rows/s) -> {out}")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--job-id", default=None, callback=lambda _c, _p, v: _bounded(v, "job_id"),
              help="The job's id; sending the same file again with it changes nothing. Default: a new random id.")
@click.option("--source", default="default", show_default=True,
              callback=lambda _c, _p, v: _bounded(v, "source"),
              help="Where the rows come from; transaction ids are unique per source.")
@click.option("--callback", default=None, help="Task name to send when the job finishes.")
@click.option("--force-variant", type=click.Choice(["A", "B", "active", "candidate"]), default=None,
              help="Serve every row with this model instead of the A/B split.")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Follow the job until it finishes.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=None,
              help="Give up when the job makes no progress for this many seconds [default: "
                   "MANNA_SUBMIT_TIMEOUT_SECONDS, 120].")
@click.option("--min-accepted", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Exit 1 when the share of accepted rows is below this (always when none is accepted).")
@click.option("--json", "as_json", is_flag=True, help="Print the job's outcome as JSON instead of the job id.")
def submit(file: Path, job_id: str | None, source: str, callback: str | None, force_variant: str | None,
           wait: bool, timeout: float | None, min_accepted: float, as_json: bool) -> None:
    """Send a CSV or JSON Lines FILE through ``manna.submit_batch`` and report what was accepted.

    A CSV needs the columns id, description and amount (optional: currency, date, account_id, mcc,
    counterparty). Exit code 0 when enough rows were accepted, 1 when not (see --min-accepted),
    2 when the file or a service cannot be used, 3 when the job stopped moving (see --timeout).
    """
    from cli.progress import job_progress
    from pipeline.readers import InputFormatError, read_rows
    from services.jobs import JobStalled, wait_for_job
    from workers.app import create_app
    from workers.client import submit_rows, why_no_progress
    from workers.embedded import embedded_worker

    settings = get_settings()
    try:
        rows = read_rows(file)
    except InputFormatError as err:
        raise Failure(str(err)) from None
    _check_submit_header(file)
    _warn_if_not_utf8(file)
    job_id = job_id or f"job-{uuid.uuid4().hex[:12]}"
    if settings.embedded:
        _ensure_schema()
        if not wait:
            raise Failure("--no-wait needs a real broker (set MANNA_BROKER_URL)")
    app = create_app(settings)
    with embedded_worker(app) if settings.embedded else nullcontext():
        started = time.perf_counter()
        sent = submit_rows(app, rows, job_id=job_id, source=source, callback=callback,
                           force_variant=force_variant, max_per_message=settings.max_message_transactions)
        if not sent:
            raise Failure(f"{file.name} holds no rows: nothing was sent")
        console.print(f"job {job_id}: sent {sent:,} rows in {time.perf_counter() - started:.1f} s")
        if not wait:
            click.echo(json.dumps({"job_id": job_id, "sent": sent}) if as_json else job_id)
            return
        try:
            with job_progress(console, job_id, sent) as show:
                outcome = wait_for_job(settings, job_id, sent, progress=show,
                                       timeout=timeout or settings.submit_timeout_seconds)
        except JobStalled as stalled:
            seen = stalled.seen
            counts = "no row has reached the database" if seen is None else (
                f"{seen.received:,} of {sent:,} rows received, {seen.labeled:,} labeled")
            console.print(f"[yellow]gave up waiting:[/yellow] {stalled} ({counts}); likely cause: "
                          f"{why_no_progress(app).replace('JOB', job_id)}")
            sys.exit(EXIT_TIMEOUT)
    _report_outcome(outcome, min_accepted, as_json)


def _warn_if_not_utf8(file: Path, columns: Sequence[str] = ()) -> None:
    """Say so before the work when a file's bytes are not UTF-8: each reads as U+FFFD, which no model has seen.

    A header that misses ``columns`` is refused first: one line, the one that matters.
    """
    from pipeline.offline import DataFileError, check_columns
    from pipeline.readers import utf8_problem

    if columns:
        try:
            check_columns(file, columns)
        except DataFileError as err:
            raise Failure(str(err)) from None
    if problem := utf8_problem(file):
        fixed = shlex.quote(file.with_name(f"{file.stem}-utf8{file.suffix}").name)
        said = (f"{file.name} is not UTF-8 ({problem}): such bytes read as \ufffd and categorize badly. Save it "
                f"as UTF-8; from Latin-1 or Windows-1252: iconv -f cp1252 -t utf-8 {shlex.quote(file.name)} > {fixed}")
        console.print(f"[yellow]warning:[/yellow] {escape(said)}")


def _check_submit_header(file: Path) -> None:
    from pipeline.readers import csv_header, duplicated_columns, header_hint
    from pipeline.schema import OPTIONAL_FIELDS, REQUIRED_FIELDS

    header = csv_header(file)
    if header is None:
        return
    if not any(header):
        raise Failure(f"{file.name} is empty: a CSV needs a header row (id,description,amount,...)")
    missing = [column for column in REQUIRED_FIELDS if column not in header]
    if missing:
        raise Failure(f"{file.name}: missing column(s) {', '.join(missing)} in the header "
                      f"{[h[:30] for h in header[:8]]}{header_hint(header, missing)}; "
                      f"the columns are {', '.join(REQUIRED_FIELDS)} "
                      f"and optionally {', '.join(OPTIONAL_FIELDS)}")
    if twice := duplicated_columns(header, REQUIRED_FIELDS + OPTIONAL_FIELDS):
        raise Failure(f"{file.name}: the header has {', '.join(twice)} more than once; keep one of each")
    ignored = [column for column in header if column not in REQUIRED_FIELDS + OPTIONAL_FIELDS]
    if ignored:
        console.print(f"ignored column(s): {', '.join(ignored)}")


def _report_outcome(outcome: Outcome, min_accepted: float, as_json: bool) -> None:
    reasons = ", ".join(f"{reason} {n:,}" for reason, n in outcome.reasons.items())
    colour = "green" if not outcome.rejected else ("red" if not outcome.accepted else "yellow")
    console.print(f"[{colour}]accepted {outcome.accepted:,}, rejected {outcome.rejected:,}[/{colour}]"
                  + (f" (top reasons: {reasons}; the rows are in rejected_transactions)" if reasons else ""))
    click.echo(json.dumps(outcome.as_dict(), indent=2) if as_json else outcome.job_id)
    if not outcome.accepted or outcome.accepted_share < min_accepted:
        console.print(f"[red]exit {EXIT_REJECTED}:[/red] " + ("no row was accepted" if not outcome.accepted else
                      f"{outcome.accepted_share:.1%} of rows accepted, under --min-accepted {min_accepted:.1%}"))
        sys.exit(EXIT_REJECTED)


@main.command()
@click.option("-n", "--count", type=click.IntRange(min=1), default=None,
              help="Rows to write [default: 10,000; with --recipe hard: 2,000].")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Same seed, same rows.")
@click.option("--labels/--no-labels", default=False, help="Add the true category and merchant columns.")
@click.option("--recipe", type=click.Choice(["default", "hard"]), default="default", show_default=True,
              help="default: lines in our taxonomy; hard: one user's export in that user's own taxonomy, "
                   "as real exports are (for manna evaluate).")
@click.option("--country", type=click.Choice(["NZ", "AU", "GB", "UK", "US"], case_sensitive=False), default=None,
              help="With --recipe hard: the user's country (banks, places, chains; UK and GB are one) "
                   "[default: NZ].")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def generate(count: int | None, seed: int, labels: bool, recipe: str, country: str | None, out: Path) -> None:
    """Write generated bank lines to OUT (.csv or .jsonl) for submit, training or benchmarks."""
    from pipeline.generate import Generator
    from pipeline.readers import SUFFIXES, write_rows

    if out.suffix.lower() not in SUFFIXES:
        raise click.BadParameter(f"{out.name} must end in .csv or .jsonl (.ndjson and .json write JSON Lines too)",
                                 param_hint="OUT")
    if recipe == "hard":
        from pipeline.hard_generate import HardGenerator

        country = (country or "NZ").upper()
        hard = HardGenerator(seed, "UK" if country == "GB" else country, count).rows()
        count = len(hard)
        rows: Iterator[dict[str, Any]] = iter(hard)
    elif country is not None:
        raise click.UsageError("--country goes with --recipe hard")
    else:
        count = count or 10_000
        rows = Generator(seed).iter_rows(count, id_prefix=f"g{seed}-")
    if not labels:
        rows = ({k: v for k, v in row.items() if k not in ("category", "merchant")} for row in rows)
    write_rows(out, rows)
    console.print(f"wrote {count:,} rows to {out}")


@main.group()
def jobs() -> None:
    """Jobs: the latest ones, or one job's counts."""


@jobs.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="How many, newest first.")
@click.option("--source", default=None, help="Only this source's jobs.")
@click.option("--json", "as_json", is_flag=True, help="Print the jobs as JSON.")
def jobs_list(limit: int, source: str | None, as_json: bool) -> None:
    """The newest jobs with their status and counts."""
    from db.engine import session_scope
    from db.jobs import recent_jobs

    with session_scope(get_settings().effective_database_url) as session:
        rows = recent_jobs(session, limit, source)
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    table = Table(title="jobs, newest first")
    for column in ("job", "source", "status", "received", "accepted", "rejected", "labeled", "created"):
        table.add_column(column)
    for j in rows:
        table.add_row(j["job_id"], j["source"], j["status"], f"{j['received']:,}", f"{j['received'] - j['rejected']:,}",
                      f"{j['rejected']:,}", f"{j['labeled']:,}", str(j["created_at"])[:19])
    _print_table(table)


@jobs.command("show")
@click.argument("job_id")
def jobs_show(job_id: str) -> None:
    """One job's status and counts as JSON, with its top rejection reasons."""
    from db.engine import session_scope
    from db.jobs import job_summary
    from db.queries import rejection_reasons
    from services.jobs import TOP_REASONS

    with session_scope(get_settings().effective_database_url) as session:
        summary = job_summary(session, job_id)
        if summary is None:
            raise NotFound(f"no job {job_id!r} (manna jobs list shows the latest)")
        summary["top_reasons"] = dict(rejection_reasons(session, job_id)[:TOP_REASONS])
    click.echo(json.dumps(summary, indent=2, default=str))


@main.command()
@click.option("--job", "job_id", default=None, help="Every label of this job.")
@click.option("--source", default=None, help="Every label of this source.")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="With --source: only labels made since DATE (UTC).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="FILE.csv, FILE.jsonl or FILE.parquet.")
def export(job_id: str | None, source: str | None, since: dt.datetime | None, out: Path) -> None:
    """Write labels (the categorized_transactions view) to a file: no SQL needed."""
    from services.export import FORMATS, export_labels

    if (job_id is None) == (source is None):
        raise click.UsageError("give --job or --source, one of them")
    if since is not None and source is None:
        raise click.UsageError("--since goes with --source")
    if out.suffix.lower() not in FORMATS:
        raise click.UsageError(f"--out {out.name}: the file must end in {', '.join(FORMATS)}")
    existed = out.exists()
    with console.status("exporting") as status:
        rows = export_labels(get_settings(), out, job_id=job_id, source=source,
                             since=since.replace(tzinfo=dt.UTC) if since else None,
                             progress=lambda n: status.update(f"exporting: {n:,} labels"))
    if not rows:
        console.print(f"[yellow]no labels for {'job ' + repr(job_id) if job_id else 'source ' + repr(source)}"
                      f"[/yellow]; {f'left {out} as it was' if existed else f'wrote an empty {out}'}")
        sys.exit(EXIT_NOT_FOUND)
    console.print(f"{rows:,} labels -> {out}")


def _message(err: Exception) -> str:
    """What an exception says: a KeyError's message without the quotes its str() adds."""
    return str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)


def _bounded(value: str | None, field: str) -> str | None:
    """``value`` if the workers would take it as ``field`` (job_id or source), else a usage error now."""
    from pipeline.schema import MAX_JOB_ID_LENGTH, MAX_SOURCE_LENGTH

    most = {"job_id": MAX_JOB_ID_LENGTH, "source": MAX_SOURCE_LENGTH}[field]
    if value is not None and not 0 < len(value) <= most:
        raise click.BadParameter(f"must be 1 to {most} characters, not {len(value)}")
    return value


def _check_writable(path: Path) -> None:
    """Fail now rather than after the work when ``path`` cannot be written (OSError: one line, from MannaGroup)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL))  # EXCL: never through a symlink
    except FileExistsError:  # a file (or a link) that is there already: can it be written?
        with path.open("a", encoding="utf-8"):
            return
    path.unlink()  # the empty file made just now


@main.command()
@click.option("--data", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Labeled CSV or JSON Lines (description, amount, category).")
@click.option("--split", type=click.Choice(["random", "unseen"]), default="random", show_default=True,
              help="random: rows at random; unseen: whole merchants held out, as new merchants meet the model.")
@click.option("--folds", type=click.IntRange(min=2, max=20), default=5, show_default=True,
              help="Cross-validation folds: each costs a training run; fewer answer sooner, with wider error.")
@click.option("--repeats", type=click.IntRange(min=1, max=10), default=1, show_default=True,
              help="Cross-validations with other fold seeds, their predictions pooled: steadier figures on a "
                   "small file, at --folds training runs each.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--out", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the result as JSON to this file.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write PNG charts and summary.md here.")
def evaluate(data: Path, split: str, folds: int, repeats: int, as_json: bool, json_out: Path | None,
             report_dir: Path | None) -> None:
    """K-fold evaluation of rules + model beside a word-count SVC baseline, on the same folds."""
    from pipeline.offline import DataFileError, new_folder, refuse_overwriting

    _warn_if_not_utf8(data, ("description", "amount", "category"))
    if json_out:  # refused or unwritable: said now, not after the cross-validation
        try:
            refuse_overwriting(json_out, data)
        except DataFileError as err:
            raise Failure(str(err)) from None
        _check_writable(json_out)
    with new_folder(report_dir) if report_dir else nullcontext():
        _evaluate(data, split, folds, repeats, as_json, json_out, report_dir)


def _evaluate(data: Path, split: str, folds: int, repeats: int, as_json: bool, json_out: Path | None,
              report_dir: Path | None) -> None:
    import numpy as np

    from pipeline.evaluate import EvaluationError, cross_validate, metrics, pooled
    from pipeline.offline import DataFileError, read_labeled, skipped_summary

    try:
        labeled = read_labeled(data)
        if labeled.reasons:
            console.print(skipped_summary(labeled.reasons))
        runs = [cross_validate(labeled, split, n_splits=folds, seed=seed,
                               progress=lambda line, seed=seed: console.print(f"seed {seed}: {line}" if repeats > 1
                                                                              else line))
                for seed in range(repeats)]
    except (DataFileError, EvaluationError) as err:
        raise Failure(f"{data}: {err}" if isinstance(err, EvaluationError) else str(err)) from None
    ours, baseline = pooled([run[0] for run in runs]), pooled([run[1] for run in runs])
    result = {"data": data.name, "split": split, "folds": folds, "repeats": repeats, "rows": len(labeled.labels),
              "skipped": dict(labeled.reasons),
              "categories": len(set(labeled.labels)),
              "ours": metrics(ours, groups=np.tile(np.asarray(labeled.split_groups), repeats)),
              "baseline": metrics(baseline, calibrated=False)}
    for name in ("ours", "baseline"):
        m = result[name]
        console.print(f"{name:>8}: accuracy {m['accuracy']:.3f}  macro-F1 {m['macro_f1']:.3f}  "
                      f"top-75% {m['accuracy_top75']:.3f}  coverage@95% {m['coverage_at_95']:.3f}"
                      + (f"  ECE {m['ece']:.3f} (± {m['ece_spread']:.3f} over resampled merchants; by chance "
                         f"alone: {m['ece_by_chance']:.3f})" if "ece" in m else ""))
    if json_out:
        json_out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    if as_json:
        click.echo(json.dumps(result, indent=2))
    if report_dir:
        from cli.report import write_report

        write_report(report_dir, result, ours, baseline, "manna " + " ".join(sys.argv[1:]))
        console.print(f"report: {report_dir / 'summary.md'}")


@main.command()
@click.option("--scenario", type=click.Choice(["cold", "warm", "stream", "latency", "soak"]), default="cold",
              show_default=True, help="cold: empty cache; warm: a repeat of cold; stream: 30 days of lines; "
              "latency: one transaction at a time; soak: steady load for --minutes.")
@click.option("-n", "--count", type=click.IntRange(min=30), default=None,
              help="Transactions (default: 1,000,000 for cold and warm, 300,000 for stream, 20,000 otherwise).")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Worker processes (default: one per core).")
@click.option("--baseline", is_flag=True, help="Also run the naive design (one task per row) and report the ratio.")
@click.option("--quick", is_flag=True, help="About a minute: 20,000 transactions, a 300-row baseline.")
@click.option("--minutes", type=float, default=10.0, show_default=True, help="Length of the soak.")
@click.option("--seed", type=click.IntRange(min=0), default=7, show_default=True, help="Seed of the generated lines.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--out", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the result as JSON to this file.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write summary.md and PNG charts here.")
def bench(scenario: str, count: int | None, workers: int | None, baseline: bool, quick: bool, minutes: float,
          seed: int, as_json: bool, json_out: Path | None, report_dir: Path | None) -> None:
    """Measure the real stack (Redis, Postgres, worker processes) with a separate producer process.

    Writes under sources named bench-<run>-*: point MANNA_DATABASE_URL at a scratch database.
    """
    from cli.bench.report import write_report
    from cli.bench.run import Options, run_bench, save
    from cli.bench.stack import BenchError

    options = Options(scenario, count, workers or Options.workers, baseline, quick, minutes, seed)
    try:
        result = run_bench(options, console.print)
    except BenchError as err:
        raise Failure(str(err)) from None
    if json_out:
        save(result, json_out)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    if report_dir:
        console.print(f"report: {write_report(report_dir, result, 'manna ' + ' '.join(sys.argv[1:]))}")
    latency = result["latency_ms"]
    console.print(f"{scenario}: {result['throughput_tps']:,.0f} tx/s, P50/P95/P99 {latency['p50']:,.0f}/"
                  f"{latency['p95']:,.0f}/{latency['p99']:,.0f} ms, cache hits {result.get('cache_hit_rate', 0):.1%}, "
                  f"{result['cpu_us_per_tx']['total']:,.0f} us CPU per transaction, "
                  f"peak RSS {result['peak_rss_mb']:,.0f} MB"
                  + (f", {result['ratio_vs_baseline']}x the naive baseline" if baseline else ""))


@main.command()
@click.option("--address", default="127.0.0.1", show_default=True, help="Bind address; keep it private.")
@click.option("--port", default=5555, show_default=True, help="Port to listen on.")
@click.option("--state-db", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Keep Flower's task history in this file across restarts.")
def flower(address: str, port: int, state_db: Path | None) -> None:
    """Run Flower, Celery's monitor, for these workers: always behind basic auth."""
    settings = get_settings()
    if settings.embedded:
        raise Failure("Flower watches a broker: set MANNA_BROKER_URL")
    if settings.flower_password is None or not settings.flower_password.get_secret_value():
        raise Failure("set MANNA_FLOWER_PASSWORD (user: MANNA_FLOWER_USER, default admin); "
                               "Flower never runs without credentials")
    if "," in settings.flower_password.get_secret_value():
        raise Failure("MANNA_FLOWER_PASSWORD must not contain ',' (Flower splits credentials on it)")
    # Through the environment, not argv: a password on the command line shows in `ps`.
    credentials = f"{settings.flower_user}:{settings.flower_password.get_secret_value()}"
    command = [sys.executable, "-m", "celery", "-A", "workers.app", "flower", f"--address={address}",
               f"--port={port}"]
    if state_db is not None:
        command += ["--persistent=True", f"--db={state_db}"]
    os.execve(sys.executable, command, {**os.environ, "FLOWER_BASIC_AUTH": credentials})


@main.command("bench-api")
@click.option("-n", "--count", type=click.IntRange(min=20), default=1_000, show_default=True,
              help="Requests, one transaction each.")
@click.option("--seed", type=click.IntRange(min=0), default=11, show_default=True,
              help="Seed of the generated lines.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--out", "json_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the result as JSON to this file.")
def bench_api(count: int, seed: int, as_json: bool, json_out: Path | None) -> None:
    """Latency of the admin API's categorize for one transaction (starts its own `manna api`)."""
    from cli.bench.api_latency import measure_api_latency
    from cli.bench.stack import BenchError

    try:
        result = measure_api_latency(count, seed)
    except BenchError as err:
        raise Failure(str(err)) from None
    if json_out:
        json_out.write_text(json.dumps(result, indent=2) + "\n")
    if as_json:
        click.echo(json.dumps(result, indent=2))
    latency = result["latency_ms"]
    console.print(f"categorize, 1 transaction, {count:,} requests: P50/P95/P99 {latency['p50']}/{latency['p95']}/"
                  f"{latency['p99']} ms")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Bind address; keep it private.")
@click.option("--port", default=8000, show_default=True, help="Port to listen on.")
def api(host: str, port: int) -> None:
    """Serve the admin HTTP API (bearer token from MANNA_ADMIN_TOKEN), docs at /docs."""
    import uvicorn

    token = get_settings().admin_token
    if token is None or not token.get_secret_value():
        raise Failure("set MANNA_ADMIN_TOKEN: the admin API never runs without authentication")
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, log_level="info")


@main.command()
@click.option("--watch", is_flag=True, help="Refresh until Ctrl-C.")
@click.option("--interval", type=click.FloatRange(min=0.5), default=2.0, show_default=True, help="Seconds.")
@click.option("--json", "as_json", is_flag=True, help="One snapshot as JSON (for scripts).")
def status(watch: bool, interval: float, as_json: bool) -> None:
    """Queues, workers, jobs in flight, last hour's throughput, P95 and cache hits per variant, alerts."""
    from rich.live import Live

    from cli.status import render, snapshot

    settings = get_settings()
    if as_json:
        click.echo(json.dumps(snapshot(settings), indent=2, default=str))
        return
    out = Console()
    if not watch:
        out.print(render(snapshot(settings)))
        return
    with Live(render(snapshot(settings)), console=out, refresh_per_second=4) as live:
        try:
            while True:
                time.sleep(interval)
                live.update(render(snapshot(settings)))
        except KeyboardInterrupt:
            pass


@main.group()
def alerts() -> None:
    """Alert rules (pipeline/data/alerts.yaml): their state, and the same rules for Prometheus."""


@alerts.command("status")
def alerts_status() -> None:
    """Each rule's state as the beat task last recorded it."""
    from db.alerts import alert_states
    from db.engine import session_scope

    with session_scope(get_settings().effective_database_url) as session:
        rows = [(a.name, a.state, a.value, a.threshold, a.changed_at, a.evaluated_at) for a in alert_states(session)]
    if not rows:
        console.print("no alert evaluated yet: is `celery -A workers.app beat` running?")
        return
    table = Table(title="alerts")
    for column in ("rule", "state", "value", "threshold", "since", "checked"):
        table.add_column(column)
    for name, state, value, threshold, changed, checked in rows:
        colour = {"firing": "red", "ok": "green"}.get(state, "yellow")
        table.add_row(name, f"[{colour}]{state}[/{colour}]", "-" if value is None else f"{value:.4g}",
                      f"{threshold:g}", str(changed)[:19], str(checked)[:19])
    _print_table(table)


@alerts.command("prometheus")
def alerts_prometheus() -> None:
    """Print the rules as a Prometheus alerting-rules file (deploy/prometheus/alerts.yml)."""
    import yaml

    from pipeline.alerts import load_alerts, prometheus_rules

    click.echo("# Generated by `manna alerts prometheus` from pipeline/data/alerts.yaml: edit that file.\n"
               + yaml.safe_dump(prometheus_rules(load_alerts()), sort_keys=False, width=200), nl=False)


@main.group()
def models() -> None:
    """The model registry: list, show, register, activate."""


@models.command("list")
def models_list() -> None:
    """Every registered version, newest first, with what it serves."""
    from db.engine import session_scope
    from db.registry import list_models, load_experiment

    with session_scope(get_settings().effective_database_url) as session:
        rows = [(m.version, m.status, m.created_at, m.training_summary, m.metrics) for m in list_models(session)]
        experiment = load_experiment(session)
    table = Table(title="model versions")
    for column in ("version", "status", "serves", "created", "rows", "categories", "held-out acc", "ECE"):
        table.add_column(column)
    for version, status, created, summary, metrics in rows:
        serves = "A" if version == experiment.active_version else (
            f"B ({experiment.candidate_percent}%)" if version == experiment.candidate_version else "")
        table.add_row(version, status, serves, str(created)[:19], f"{summary.get('rows', 0):,}",
                      str(summary.get("categories", "")), str(metrics.get("held_out_merchant_accuracy", "")),
                      str(metrics.get("held_out_merchant_ece", "")))
    _print_table(table)


@models.command("register")
@click.argument("model_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--activate", is_flag=True, help="Also serve it as variant A.")
@click.option("--force", is_flag=True, help="With --activate: even if its held-out accuracy is clearly below the "
              "active model's.")
def models_register(model_dir: Path, activate: bool, force: bool) -> None:
    """Add a model written by `manna train --data --out` to the registry (workers can then serve it)."""
    from pipeline.model import ArtifactError
    from pipeline.offline import DataFileError
    from pipeline.rules import RuleError
    from services.training import register_model_dir

    _ensure_schema()
    try:
        version, added = register_model_dir(get_settings(), model_dir)
    except (ArtifactError, DataFileError, RuleError, FileNotFoundError) as err:
        raise Failure(str(err)) from None
    console.print(f"{version} {'registered' if added else 'was already registered'}")
    if activate:
        _activate(version, force)
    click.echo(version)


def _activate(version: str, force: bool) -> None:
    from services.models import ModelChangeRefused, activate

    try:
        activate(get_settings(), version, actor=_cli_actor(), force=force)
    except LookupError as err:
        raise NotFound(_message(err)) from None
    except ModelChangeRefused as err:
        raise Failure(str(err)) from None
    console.print(f"{version} is active")


def _cli_actor() -> str:
    import getpass

    return f"cli:{getpass.getuser()}"


@models.command("show")
@click.argument("version")
def models_show(version: str) -> None:
    """One version's registry row as JSON."""
    from db.engine import session_scope
    from db.registry import get_model_version

    with session_scope(get_settings().effective_database_url) as session:
        row = get_model_version(session, version)
        data = None if row is None else {c.name: getattr(row, c.key) for c in row.__table__.columns}
    if data is None:
        raise NotFound(f"no model version {version!r} (manna models list shows them)")
    click.echo(json.dumps(data, indent=2, default=str))


@models.command("activate")
@click.argument("version")
@click.option("--force", is_flag=True, help="Even if its held-out accuracy is clearly below the active model's.")
def models_activate(version: str, force: bool) -> None:
    """Serve VERSION as variant A (workers pick it up within MANNA_EXPERIMENT_REFRESH_SECONDS)."""
    _activate(version, force)


@models.command("candidate")
@click.argument("version", required=False)
@click.option("--clear", is_flag=True, help="No candidate: every task goes to the active model.")
@click.option("--percent", type=click.FloatRange(0, 100), default=0.0, show_default=True,
              help="The candidate's share of tasks (a rollout moves it for you: manna rollout start).")
def models_candidate(version: str | None, clear: bool, percent: float) -> None:
    """Make VERSION the candidate (variant B), served to --percent of tasks; or --clear it."""
    from services.models import make_candidate

    if bool(version) == clear:
        raise click.UsageError("give a VERSION or --clear, one of them")
    try:
        experiment = make_candidate(get_settings(), version, actor=_cli_actor(), percent=percent)
    except LookupError as err:
        raise NotFound(_message(err)) from None
    except ValueError as err:
        raise Failure(str(err)) from None
    console.print(f"candidate: {experiment.candidate_version or 'none'} ({experiment.candidate_percent:g}% of tasks)")


@main.group()
def rollout() -> None:
    """Gradual rollout of a candidate (10 -> 100%), judged by a policy, rolled back automatically."""


@rollout.command("start")
@click.option("--candidate", required=True, help="A registered model version.")
@click.option("--phases", default=None, help="Shares in percent, rising to 100 (default: the policy's).")
@click.option("--policy", default="seed", show_default=True, help="seed, retrain, or a policy YAML file.")
def rollout_start(candidate: str, phases: str | None, policy: str) -> None:
    """Serve CANDIDATE to the first phase's share; beat's manna.evaluate_rollout moves it on or rolls it back."""
    from services.rollout import start

    try:
        shares = [float(p) for p in phases.split(",")] if phases else None
    except ValueError:
        raise click.BadParameter(f"{phases!r}: shares in percent separated by commas, such as 10,50,100",
                                 param_hint="--phases") from None
    try:
        state = start(get_settings(), candidate=candidate, actor=_cli_actor(), policy=policy, phases=shares)
    except LookupError as err:
        raise NotFound(_message(err)) from None
    except ValueError as err:
        raise Failure(str(err)) from None
    console.print(f"rollout {state['id']} of {candidate}: {state['percent']:g}% of tasks (policy {policy})")


@rollout.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the latest rollout and its events as JSON.")
def rollout_status(as_json: bool) -> None:
    """The latest rollout: state, candidate, phase, and every decision with its reason."""
    from services.rollout import status

    state = status(get_settings())
    if as_json:
        click.echo(json.dumps(state, indent=2, default=str))
        return
    if state is None:
        console.print("no rollout yet: manna rollout start --candidate VERSION")
        return
    console.print(f"rollout {state['id']} of {state['candidate']}: {state['state']}, phase {state['phase'] + 1} of "
                  f"{len(state['phases'])}, {state['percent']:g}% of tasks (policy {state['policy']})")
    table = Table(title="decisions")
    for column in ("at", "decision", "share", "by", "reason"):
        table.add_column(column)
    for event in state["events"]:
        share = "" if event["percent"] is None else f"{event['percent']:g}%"
        table.add_row(str(event["at"])[:19], event["decision"], share, event["actor"], event["reason"])
    _print_table(table)


def _rollout_control(action: str) -> None:
    from services.rollout import control

    try:
        state = control(get_settings(), action, actor=_cli_actor())
    except LookupError as err:
        raise NotFound(_message(err)) from None
    except ValueError as err:
        raise Failure(str(err)) from None
    console.print(f"rollout {state['id']}: {state['state']}, {state['percent']:g}% of tasks to {state['candidate']}")


@rollout.command("pause")
def rollout_pause() -> None:
    """Hold the candidate at its share: the controller takes no step until resumed."""
    _rollout_control("pause")


@rollout.command("resume")
def rollout_resume() -> None:
    """Let the controller judge the paused rollout again."""
    _rollout_control("resume")


@rollout.command("abort")
def rollout_abort() -> None:
    """End the rollout: the candidate gets no more traffic."""
    _rollout_control("abort")


@main.command()
@click.option("--activate", "activate_version", default=None, help="Serve this registered model once deployed.")
@click.option("--force", is_flag=True, help="With --activate: even a model clearly worse than the active one.")
@click.option("--rollout", "rollout_candidate", default=None, help="Then start a rollout of this candidate.")
@click.option("--policy", default="seed", show_default=True, help="The rollout's policy: seed, retrain or a file.")
@click.option("--canary-rows", type=click.IntRange(min=100), default=2_000, show_default=True,
              help="Generated lines with known categories in each canary job.")
@click.option("--min-canary-accuracy", type=click.FloatRange(0, 1.5), default=0.0, show_default=True,
              help="Refuse the deployment when the canary job's accuracy is below this.")
@click.option("--dry-run", is_flag=True, help="Print the plan and change nothing.")
def deploy(activate_version: str | None, force: bool, rollout_candidate: str | None, policy: str, canary_rows: int,
           min_canary_accuracy: float, dry_run: bool) -> None:
    """The seed's deployment pipeline: check, baseline, migrate, restart, validate, then an optional rollout.

    A failed step from the activation on puts the previous model back and restarts the stack.
    """
    from services.deploy import DeployOptions, plan, run_stack, stack_is_running
    from services.deploy import deploy as run_deploy
    from workers.app import create_app
    from workers.client import submit_rows

    options = DeployOptions(activate=activate_version, force=force, rollout=rollout_candidate, policy=policy,
                            canary_rows=canary_rows, min_canary_accuracy=min_canary_accuracy)
    if dry_run:
        for number, line in enumerate(plan(options), start=1):
            click.echo(f"{number}. {line}")
        return
    settings = get_settings()
    app = create_app(settings)
    script = Path(__file__).resolve().parents[1] / "deploy" / "stack.sh"
    result = run_deploy(
        settings, options,
        submit=lambda rows, job_id: submit_rows(app, rows, job_id=job_id, source="deploy-canary",
                                                max_per_message=settings.max_message_transactions),
        broker_ok=lambda: _broker_answers(settings.effective_broker_url),
        stack=lambda action: run_stack(script, action), stack_running=lambda: stack_is_running(script),
        progress=console.print)
    click.echo(json.dumps({"ok": result.ok, "error": result.error, "restored": result.restored,
                           "steps": result.steps}, indent=2, default=str))
    sys.exit(0 if result.ok else 1)


def _broker_answers(url: str) -> bool:
    from kombu import Connection

    with Connection(url, connect_timeout=2) as connection:
        connection.ensure_connection(max_retries=1)
    return True


@main.group()
def failed() -> None:
    """Tasks whose retries ran out (failed_tasks): list them, send them again."""


@failed.command("list")
@click.option("--all", "include_redriven", is_flag=True, help="Also those already re-driven.")
@click.option("--limit", default=100, show_default=True, help="At most this many, oldest first.")
def failed_list(include_redriven: bool, limit: int) -> None:
    """Failures oldest first, with their error (spooled ones are imported first)."""
    from db.engine import session_scope
    from db.failures import import_spool, pending_failures

    settings = get_settings()
    _ensure_schema()
    with session_scope(settings.effective_database_url) as session:
        imported = import_spool(session, settings.failure_spool)
        rows = [(f.id, f.task_name, f.task_id, f.failed_at, f.retries, f.redriven_at, f.error)
                for f in pending_failures(session, include_redriven=include_redriven, limit=limit)]
    if imported:
        console.print(f"imported {imported} failure(s) spooled while the database was down")
    table = Table(title="failed tasks" + ("" if include_redriven else " not re-driven yet"))
    for column in ("id", "task", "task id", "failed at", "retries", "re-driven", "error"):
        table.add_column(column)
    for fid, name, task_id, at, retries, redriven, error in rows:
        table.add_row(str(fid), name, task_id, str(at)[:19], str(retries), str(redriven or "")[:19], error[:120])
    _print_table(table)


@failed.command("redrive")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all", "everything", is_flag=True, help="Every failure not re-driven yet.")
def failed_redrive(ids: tuple[int, ...], everything: bool) -> None:
    """Send failed tasks again with the same arguments and task id (labels and counts stay exact)."""
    from db.engine import session_scope
    from db.failures import import_spool, is_refused, mark_redriven, pending_failures
    from workers.app import create_app

    if bool(ids) == everything:
        raise click.UsageError("give failure ids or --all")
    settings = get_settings()
    if settings.embedded:
        raise Failure("redrive sends to the broker: set MANNA_BROKER_URL and MANNA_DATABASE_URL")
    app = create_app(settings)
    with session_scope(settings.effective_database_url) as session:
        import_spool(session, settings.failure_spool)
        pending = [f for f in pending_failures(session, limit=1_000_000) if everything or f.id in ids]
        missing = set(ids) - {f.id for f in pending}
        if missing:
            raise NotFound(f"not pending: {', '.join(map(str, sorted(missing)))} (see manna failed list --all)")
        refused = [f.id for f in pending if is_refused(f.task_name)]
        if refused and not everything:
            raise Failure(f"refused messages cannot be re-driven: {', '.join(map(str, refused))}")
        if refused:
            console.print(f"skipped {len(refused)} refused message(s): they cannot be re-driven")
        pending = [f for f in pending if not is_refused(f.task_name)]
        for failure in pending:
            # The same task id: a chunk that did commit before it failed counts once, as always.
            app.send_task(failure.task_name, kwargs=failure.kwargs, task_id=failure.task_id)
        mark_redriven(session, [f.id for f in pending])
    console.print(f"re-drove {len(pending)} task(s)")


@main.group()
def feedback() -> None:
    """Reviews of labels: confirm or correct them (a correction overrides the label and teaches the merchant)."""


@feedback.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--allow-new-category", is_flag=True,
              help="Accept categories the serving model does not know (reported; the next retrain learns them).")
@click.option("--json", "as_json", is_flag=True, help='Print {"accepted", "rejected", "reasons", ...} as JSON.')
def feedback_import(file: Path, allow_new_category: bool, as_json: bool) -> None:
    """Import reviews from a CSV or JSON Lines FILE: source,transaction_id,category[,reviewer,note].

    Exit code 0 when every row was accepted, 1 when some were rejected (the accepted ones are kept),
    2 when the file cannot be used.
    """
    from pipeline.feedback import FeedbackFileError, check_header
    from pipeline.readers import InputFormatError, csv_header, read_rows
    from services.feedback import record_feedback

    _ensure_schema()
    try:
        header = csv_header(file)
        if header is not None:
            check_header(header)
        _warn_if_not_utf8(file)
        result = record_feedback(get_settings(), read_rows(file), allow_new_category=allow_new_category)
    except (FeedbackFileError, InputFormatError) as err:
        raise Failure(f"{file.name}: {err}") from None
    summary = result.as_dict()
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        _print_feedback(summary)
    sys.exit(1 if result.rejected else 0)


def _print_feedback(summary: dict[str, Any]) -> None:
    reasons = ", ".join(f"{reason} {n}" for reason, n in summary["reasons"].items())
    console.print(f"accepted {summary['accepted']:,} ({summary['corrections']:,} corrections, "
                  f"{summary['confirmations']:,} confirmations), rejected {summary['rejected']:,}"
                  + (f": {reasons}" if reasons else ""))
    if summary["new_categories"]:
        console.print(f"new categories (learned at the next retrain): {', '.join(summary['new_categories'])}")
    if summary["rejections"]:
        table = Table(title="rejected rows (first 20)")
        for column in ("row", "source", "transaction id", "reason", "detail"):
            table.add_column(column)
        for r in summary["rejections"][:20]:
            table.add_row(str(r["index"] + 1), r["source"] or "", r["transaction_id"] or "", r["reason"], r["detail"])
        _print_table(table)


@main.command()
@click.option("--limit", type=click.IntRange(min=1, max=1_000), default=20, show_default=True,
              help="Entries to show, the correction worth most first.")
@click.option("--source", default=None, help="Only this source.")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Labels made since DATE.")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
@click.option("--truth", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A labeled file (id,category) of --source: measure how much likelier the listed labels are wrong.")
def review(limit: int, source: str | None, since: dt.datetime | None, as_json: bool, truth: Path | None) -> None:
    """The review queue: one entry per merchant, the correction worth most first."""
    from services.review import measure_queue, review_entries

    settings = get_settings()
    if truth is not None:
        if source is None:
            raise click.UsageError("--truth needs --source: the source the labeled file was submitted as")
        quality = measure_queue(settings, source=source, truth=_true_categories(truth), limit=limit)
        click.echo(json.dumps(quality, indent=2) if as_json else _quality_line(quality))
        return
    since_utc = since.replace(tzinfo=dt.UTC) if since else None
    entries = review_entries(settings, limit=limit, source=source, since=since_utc)
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return
    if not entries:
        console.print("nothing to review: every label is reviewed, or its merchant is remembered")
        return
    table = Table(title="review queue: correct the top first (manna feedback import)")
    for column in ("#", "source", "transaction id", "description", "category", "conf.", "why"):
        table.add_column(column)
    for e in entries:
        table.add_row(str(e["rank"]), e["source"], e["transaction_id"], e["description"], e["category"],
                      f"{e['confidence']:.2f}", e["why"])
    _print_table(table)


def _true_categories(path: Path) -> dict[str, str]:
    from pipeline.readers import read_rows
    from pipeline.schema import UNREADABLE

    rows = [row for row in read_rows(path) if isinstance(row, dict) and UNREADABLE not in row]
    key = "transaction_id" if rows and "transaction_id" in rows[0] else "id"
    if not rows or key not in rows[0] or "category" not in rows[0]:
        raise Failure(f"{path.name}: needs id (or transaction_id) and category columns")
    return {str(row[key]): str(row["category"]) for row in rows if row.get(key) and row.get("category")}


def _quality_line(q: dict[str, Any]) -> str:
    if q["queue_error_rate"] is None or q["overall_error_rate"] is None:
        return f"nothing to compare: {q['queue_entries']} queue entries and {q['labels']} labels with a known category"
    ratio = f"{q['ratio']}x" if q["ratio"] is not None else "n/a (no label is wrong)"
    known = "" if q["queue_known"] == q["queue_entries"] else f" ({q['queue_known']} with a known category)"
    return (f"top {q['queue_entries']} of the queue{known}: {q['queue_wrong']} wrong ({q['queue_error_rate']:.1%}); "
            f"all {q['labels']:,} labels: {q['labels_wrong']:,} wrong ({q['overall_error_rate']:.2%}); "
            f"ratio {ratio}")


@main.command()
@click.option("--now", is_flag=True, help="Run here, in the foreground (default: send manna.retrain to the "
              "training queue).")
@click.option("--json", "as_json", is_flag=True, help="Print the decision (or, with --history, the runs) as JSON.")
@click.option("--history", type=click.IntRange(min=1), default=None, help="Show the last N runs instead.")
def retrain(now: bool, as_json: bool, history: int | None) -> None:
    """Retrain from reviews: the active model's data plus every review; registered as a candidate if not worse."""
    settings = get_settings()
    if history is not None:
        _print_retrain_history(settings, history, as_json)
        return
    _ensure_schema()
    if not now:
        if settings.embedded:
            raise Failure("without a broker, run it here: manna retrain --now")
        from workers.app import create_app

        result = create_app(settings).send_task("manna.retrain", kwargs={"trigger": "cli"}, queue="training")
        console.print(f"sent manna.retrain ({result.id}) to the training queue; "
                      "see `manna retrain --history 1` once a worker serving -Q training ran it")
        return
    from services.retrain import retrain as run_retrain

    decision = run_retrain(settings, trigger="cli", progress=console.print)
    if as_json:
        click.echo(json.dumps(decision.as_dict(), indent=2, default=str))
    else:
        colour = {"registered": "green", "rejected": "yellow", "failed": "red"}.get(decision.status, "blue")
        console.print(f"[{colour}]{decision.status}[/{colour}]: {decision.reason}")
        if decision.candidate_version:
            click.echo(decision.candidate_version)


def _print_retrain_history(settings: Any, limit: int, as_json: bool) -> None:
    from db.engine import session_scope
    from db.retraining import recent_runs

    with session_scope(settings.effective_database_url) as session:
        runs = recent_runs(session, limit)
    if as_json:
        click.echo(json.dumps(runs, indent=2, default=str))
        return
    table = Table(title="retraining runs, newest first")
    for column in ("run", "started", "trigger", "status", "base", "candidate", "reason"):
        table.add_column(column)
    for run in runs:
        table.add_row(str(run["id"]), str(run["started_at"])[:19], run["trigger"], run["status"],
                      run["base_version"] or "", run["candidate_version"] or "", run["reason"])
    _print_table(table)


@main.command()
@click.option("--source", required=True, help="The source whose labels to re-decide.")
@click.option("--job", "job_id", default=None, help="Only this job's labels.")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Only labels made since DATE (UTC).")
@click.option("--dry-run", is_flag=True, help="Count what would change, per category pair; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def recategorize(source: str, job_id: str | None, since: dt.datetime | None, dry_run: bool, as_json: bool) -> None:
    """Backfill: re-decide stored labels with the active model and the merchant memory.

    Overrides and reviewed labels are never changed; a changed label keeps its old value in label_history.
    """
    from services.backfill import recategorize as run_backfill

    _ensure_schema()
    with console.status("re-deciding labels") as status:
        result = run_backfill(get_settings(), source=source, job_id=job_id,
                              since=since.replace(tzinfo=dt.UTC) if since else None, dry_run=dry_run,
                              progress=lambda seen, changed: status.update(
                                  f"re-deciding labels: {seen:,} examined, {changed:,} "
                                  f"{'would change' if dry_run else 'changed'}"))
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
        return
    verb = "would change" if dry_run else "changed"
    console.print(f"{result.examined:,} labels of {source!r} examined, {result.changed:,} {verb}"
                  + ("" if dry_run else f" (history kept under {result.run})"))
    if result.pairs:
        table = Table(title=f"labels that {verb}, by category")
        for column in ("from", "to", "labels"):
            table.add_column(column)
        for (old, new), n in result.pairs.most_common(30):
            table.add_row(old, new, f"{n:,}")
        _print_table(table)


@main.command()
@click.argument("transaction_id")
@click.option("--source", default=None, help="Only this source (ids are unique per source).")
def explain(transaction_id: str, source: str | None) -> None:
    """Show a transaction's label and why it was given."""
    from db.engine import session_scope
    from db.queries import explain_label

    with session_scope(get_settings().effective_database_url) as session:
        labels = explain_label(session, transaction_id, source)
    if not labels:
        raise NotFound(f"no label for transaction {transaction_id!r}")
    if len(labels) > 1:  # one JSON document on stdout, always
        sources = ", ".join(sorted({str(label.get("source")) for label in labels}))
        raise click.UsageError(f"transaction {transaction_id!r} was sent by several sources ({sources}): "
                               "give --source")
    click.echo(json.dumps(labels[0], indent=2, default=str))


@main.command()
@click.option("-n", "--count", type=click.IntRange(min=1), default=10_000, show_default=True,
              help="Transactions to categorize.")
@click.option("--seed", type=click.IntRange(min=0), default=42, show_default=True, help="Seed of the generated lines.")
def demo(count: int, seed: int) -> None:
    """Embedded end-to-end run: generated lines through the real task path, then a summary."""
    from cli.demo import run_demo

    run_demo(count, seed, console)


def _ensure_schema() -> None:
    from db.migrate import upgrade

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.effective_database_url)


def _print_table(table: Table) -> None:
    # Piped output keeps whole cells: a table is no use to grep once its ids are cut.
    Console(width=None if sys.stdout.isatty() else 200).print(table)
