"""The `carelog` command: serve | migrate | demo | create-admin | issue-code | close-month | import |
verify-audit | gc-photos | purge | retention | check | backup | restore.

Commands print no personal data beyond what the operator asked for (a link for a named user).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import func, select

from backend import clock
from backend.settings import Settings, SettingsError, load_settings


def _settings() -> Settings:
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"carelog: bad setting: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if settings.today is not None:
        clock.pretend_today(settings.today)
    return settings


def cmd_serve(args: argparse.Namespace) -> int:
    from granian import Granian
    from granian.constants import Interfaces

    settings = _settings()
    from backend.app import create_app
    from backend.i18n import CatalogError

    try:
        create_app(settings)  # fail here, loudly, before forking workers
    except CatalogError as exc:
        print(f"carelog: {exc}", file=sys.stderr)
        return 2
    where = f"http://{settings.host}:{settings.port}"
    if not _port_free(settings.host, settings.port):
        print(
            f"carelog: {settings.host}:{settings.port} is already in use; set CARELOG_PORT", file=sys.stderr
        )
        return 2
    print(f"Carelog is serving on {where} (public origin {settings.public_origin})")
    Granian(
        "backend.app:app_factory",
        factory=True,
        interface=Interfaces.ASGI,
        address=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_access=False,  # our own access log records route templates, never concrete paths
    ).serve()
    return 0


def _port_free(host: str, port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def cmd_migrate(args: argparse.Namespace) -> int:
    from backend.migrate import downgrade, upgrade

    settings = _settings()
    _ensure_sqlite_dir(settings)
    if args.down:
        downgrade(settings.database_url, args.down)
    else:
        upgrade(settings.database_url, "head")
    print("migrations applied")
    return 0


def _ensure_sqlite_dir(settings: Settings) -> None:
    if settings.is_sqlite:
        from pathlib import Path

        Path(settings.database_url.split("///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)


async def _with_db(settings: Settings, work):  # type: ignore[no-untyped-def]
    from backend.db import create_database

    database = create_database(settings)
    try:
        async with database.transaction() as session:
            return await work(session)
    finally:
        await database.dispose()


def _link(settings: Settings, code: str) -> str:
    return f"{settings.public_origin}/signin/c/{code}"


async def _issue_link(db, user, settings: Settings, hours: int | None = None) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A fresh one-time code for `user` issued by the operator (no actor): (display code, link)."""
    from backend.auth.service import do_issue_code

    issued = await do_issue_code(
        db,
        user,
        actor=None,
        secret_key=settings.secret_key,
        valid_for=timedelta(hours=hours or settings.signin_code_hours),
    )
    return issued.display, _link(settings, issued.code)


def cmd_demo(args: argparse.Namespace) -> int:
    from backend.demo import PERSONAS, create_demo, demo_exists, load_demo_cast
    from backend.people.models import User

    settings = _settings()

    async def work(db):  # type: ignore[no-untyped-def]
        if await demo_exists(db):
            cast = await load_demo_cast(db)
            print("Demo data is already loaded.")
        elif await db.scalar(select(func.count(User.id))) and not args.force:
            # Not an error: `make run` on a real database simply serves it.
            print("The database holds data that is not the demo; the demo was not loaded.")
            return 0
        else:
            from backend.storage import PhotoStore

            store = PhotoStore.from_url(settings.photo_store_url)
            cast = await create_demo(db, time_zone=settings.time_zone, store=store)
            print("Demo district loaded: 青溪区 (Qingxi District, fictional).")
        print(f"\nOne-time sign-in links (each works once, for {settings.signin_code_hours} hours):")
        for handle, name, what in PERSONAS:
            user = cast.users.get(handle)
            if user is None:
                continue
            _code, link = await _issue_link(db, user, settings)
            print(f"  {name:<4} {what:<52} {link}")
        return 0

    return int(asyncio.run(_with_db(settings, work)) or 0)


def cmd_create_admin(args: argparse.Namespace) -> int:
    from backend.people.service import InvalidHandle, do_create_user

    settings = _settings()

    async def work(db):  # type: ignore[no-untyped-def]
        try:
            user = await do_create_user(
                db, handle=args.handle, display_name=args.name, actor=None, is_admin=True
            )
        except InvalidHandle:
            print("carelog: a user name has 3-64 lowercase letters, digits, '.', '_' or '-'", file=sys.stderr)
            return 2
        _code, link = await _issue_link(db, user, settings)
        print(f"Administrator {user.handle} created. Sign in once with: {link}")
        return 0

    return int(asyncio.run(_with_db(settings, work)) or 0)


def cmd_issue_code(args: argparse.Namespace) -> int:
    from backend.people.models import User

    settings = _settings()

    async def work(db):  # type: ignore[no-untyped-def]
        user = await db.scalar(select(User).where(User.handle == args.user.strip().lower()))
        if user is None or not user.is_active:
            print("carelog: no active user with that user name", file=sys.stderr)
            return 1
        hours = settings.signin_code_hours if args.hours is None else args.hours
        if not 1 <= hours <= 24 * 14:
            print("carelog: --hours must be between 1 and 336", file=sys.stderr)
            return 2
        code, link = await _issue_link(db, user, settings, hours)
        print(f"Code {code}, valid once for {hours} hours: {link}")
        return 0

    return int(asyncio.run(_with_db(settings, work)) or 0)


def cmd_close_month(args: argparse.Namespace) -> int:
    from backend.labels import fen_to_yuan
    from backend.meals.forms import parse_month
    from backend.people.models import Programme, ProgrammeKind, User
    from backend.settlement.service import SettlementRefused, do_close_month

    settings = _settings()
    month = parse_month(args.month) if len(args.month) == 7 else None
    if month is None:
        print("carelog: --month must be YYYY-MM, for example 2026-10", file=sys.stderr)
        return 2

    async def work(db):  # type: ignore[no-untyped-def]
        programme = await db.get(Programme, args.programme)
        if programme is None or programme.kind is not ProgrammeKind.NEIGHBOUR_MEALS:
            print("carelog: no neighbour meal programme with that id", file=sys.stderr)
            return 1
        actor = None
        if args.by:
            actor = await db.scalar(
                select(User).where(User.handle == args.by.lower(), User.is_active.is_(True))
            )
            if actor is None:
                print("carelog: no active user with that user name", file=sys.stderr)
                return 1
        closing = await do_close_month(db, programme, month, actor=actor)
        print(
            f"{month:%Y-%m} of programme {programme.id} closed: {closing.meals} approved meals, "
            f"{fen_to_yuan(closing.total_fen)} yuan ({closing.total_fen} fen); "
            f"audit head {closing.period.audit_head_hash} (event {closing.period.audit_event_id})"
        )
        return 0

    try:
        return int(asyncio.run(_with_db(settings, work)) or 0)
    except SettlementRefused as exc:
        print(f"carelog: not closed: {exc.detail}", file=sys.stderr)
        return 1


def cmd_import(args: argparse.Namespace) -> int:
    """The page's code path: check the whole file; with errors print them and write nothing."""
    from pathlib import Path

    from backend.errors import Forbidden, Refused
    from backend.people.import_service import check_file, do_commit_plan, get_plan_for, importer_for
    from backend.people.models import Programme, User

    settings = _settings()
    try:
        data = Path(args.file).read_bytes()
    except OSError as exc:
        print(f"carelog: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2

    async def work(db):  # type: ignore[no-untyped-def]
        programme = await db.get(Programme, args.programme)
        if programme is None:
            print("carelog: no programme with that id", file=sys.stderr)
            return 1
        actor = None
        if args.by:
            actor = await db.scalar(
                select(User).where(User.handle == args.by.lower(), User.is_active.is_(True))
            )
            if actor is None:
                print("carelog: no active user with that user name", file=sys.stderr)
                return 1
        importer = await importer_for(
            db, actor.id if actor else None, programme, is_admin=bool(actor and actor.is_admin)
        )
        plan = await check_file(db, programme, data, importer=importer, store=not args.dry_run)
        print(f"read as {plan.encoding}: {len(plan.rows)} rows")
        for warning in plan.warnings:
            print(f"warning: {warning}")
        for row in plan.errors:
            print(f"line {row.line}: {row.reason}", file=sys.stderr)
        counts = ", ".join(f"{a} {plan.count(a)}" for a in ("create", "update", "unchanged"))
        if plan.errors:
            print(f"carelog: {len(plan.errors)} rows with errors; nothing was imported", file=sys.stderr)
            raise _Rollback(1)
        if args.dry_run:
            print(f"dry run: {counts}; nothing was written")
            return 0
        assert plan.plan_id is not None
        await do_commit_plan(db, await get_plan_for(db, plan.plan_id, actor=actor), importer=importer)
        print(f"imported: {counts}")
        return 0

    try:
        return int(asyncio.run(_with_db(settings, work)) or 0)
    except _Rollback as exc:
        return exc.code
    except Forbidden:
        print("carelog: that user may not import into this programme", file=sys.stderr)
        return 1
    except Refused as exc:
        print(f"carelog: not imported: {exc.detail}", file=sys.stderr)
        return 1


class _Rollback(Exception):
    """Ends a command's transaction without writing (its exit code)."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def cmd_verify_audit(args: argparse.Namespace) -> int:
    from backend.audit import verify_chain

    settings = _settings()

    async def work(db):  # type: ignore[no-untyped-def]
        report = await verify_chain(db)
        if report.first_bad_id is None:
            print(f"audit chain intact: {report.checked} events, head {report.head_hash}")
            return 0
        print(
            f"audit chain BROKEN at event {report.first_bad_id}: {report.reason} "
            f"({report.checked} events before it check out)"
        )
        return 1

    return int(asyncio.run(_with_db(settings, work)) or 0)


def cmd_purge(args: argparse.Namespace) -> int:
    from backend.auth.purge import purge

    settings = _settings()

    async def work(db):  # type: ignore[no-untyped-def]
        report = await purge(db)
        from backend.cases.order_purge import purge_closed_public_requests

        blanked = await purge_closed_public_requests(db)
        print(
            f"purged: {report.ceremonies} passkey ceremonies, {report.sessions} sessions, "
            f"{report.codes} sign-in codes, {report.rate_buckets} rate-limit rows, "
            f"{report.view_marks} view marks (the audit chain is never purged)"
        )
        print(f"public requests closed long ago, words removed: {blanked}")
        return 0

    return int(asyncio.run(_with_db(settings, work)) or 0)


def cmd_gc_photos(args: argparse.Namespace) -> int:
    from backend.evidence.maintenance import collect_garbage
    from backend.storage import PhotoStore

    settings = _settings()
    store = PhotoStore.from_url(settings.photo_store_url)

    async def work(db):  # type: ignore[no-untyped-def]
        report = await collect_garbage(db, store)
        print(f"photo store: {report.scanned} files scanned, {len(report.removed)} unreferenced removed")
        return 0

    return int(asyncio.run(_with_db(settings, work)) or 0)


def cmd_retention(args: argparse.Namespace) -> int:
    """Remove the photo files whose kept time has run out (backend/evidence/retention.py)."""
    from backend.db import create_database
    from backend.evidence.retention import run_retention
    from backend.storage import PhotoStore

    settings = _settings()
    store = PhotoStore.from_url(settings.photo_store_url)

    async def work() -> int:
        database = create_database(settings)
        try:
            result = await run_retention(
                database,
                store,
                now=clock.utcnow(),
                child_photo_days=settings.child_photo_retention_days,
                meal_photo_days=settings.meal_photo_retention_days,
                dry_run=args.dry_run,
            )
        finally:
            await database.dispose()
        for kind in result.plan.kinds:
            span = f", received {kind.oldest} to {kind.newest}" if kind.photo_ids else ""
            print(f"{kind.name} (kept {kind.kept_days} days): {len(kind.photo_ids)} due{span}")
        if args.dry_run:
            print("dry run: nothing changed")
            return 0
        print(f"photos removed: {result.removed}, files deleted: {result.files_deleted}")
        for key in result.files_left:
            print(f"could not delete {key} now: `carelog gc-photos` will")
        return 0

    return asyncio.run(work())


def cmd_check(args: argparse.Namespace) -> int:
    """Photos' files against their hashes, and every closed month's ledger against its meals computed
    again (one meal line per agreement since migration 0013). Non-zero when anything disagrees."""
    from backend.evidence.maintenance import check_photos
    from backend.settlement.checks import closed_month_mismatches
    from backend.storage import PhotoStore

    settings = _settings()
    store = PhotoStore.from_url(settings.photo_store_url)

    async def work(db):  # type: ignore[no-untyped-def]
        report = await check_photos(db, store)
        for photo_id, variant in report.bad:
            print(f"photo {photo_id}: {variant} file missing or altered")
        print(f"photos checked: {report.checked}, with missing or altered files: {len(report.bad)}")
        if report.removed:  # removed on purpose by retention or erasure: rows and hashes kept, no files
            print(f"photos removed by retention or erasure (not checked): {report.removed}")
        months, mismatches = await closed_month_mismatches(db)
        for m in mismatches:
            print(
                f"closed month {m.month:%Y-%m} of programme {m.programme_id}: agreement {m.agreement_id} "
                f"was paid {m.ledger[0]} meals, {m.ledger[1]} fen, but its check-ins now give "
                f"{m.recomputed[0]} meals, {m.recomputed[1]} fen"
            )
        bad_months = len({(m.programme_id, m.month) for m in mismatches})
        print(f"closed months checked: {months}, with ledger and check-ins disagreeing: {bad_months}")
        return 1 if report.bad or mismatches else 0

    return int(asyncio.run(_with_db(settings, work)) or 0)


def cmd_backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from backend.backup import BackupError, make_backup

    settings = _settings()
    try:
        report = asyncio.run(make_backup(settings, Path(args.dest)))
    except BackupError as exc:
        print(f"carelog: backup failed: {exc}", file=sys.stderr)
        return 1
    snap = report.snapshot
    print(
        f"backup written to {args.dest}: {snap.audit_events} audit events (head {snap.audit_head[:12]}), "
        f"{snap.counts.get('photo', 0)} photos, {report.copied} files copied, "
        f"{report.stored} files in the store"
    )
    for key in report.missing:
        print(f"missing or altered in the photo store: {key}")
    return 1 if report.missing else 0


def cmd_restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from backend.backup import BackupError, restore_backup

    settings = _settings()
    try:
        report = asyncio.run(restore_backup(settings, Path(args.src), force=args.force))
    except BackupError as exc:
        print(f"carelog: restore failed: {exc}", file=sys.stderr)
        return 1
    for problem in report.problems:
        print(f"restore check: {problem}")
    verdict = "with problems" if report.problems else "and verified"
    print(
        f"restored {verdict}: audit chain of {report.audit_events} events, "
        f"{report.photos_checked} photos checked"
    )
    return 1 if report.problems else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="carelog", description="Carelog: community care records.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="serve the app with Granian").set_defaults(func=cmd_serve)
    p = sub.add_parser("migrate", help="apply database migrations")
    p.add_argument("--down", metavar="REVISION", help="downgrade to REVISION instead (e.g. base)")
    p.set_defaults(func=cmd_migrate)
    p = sub.add_parser("demo", help="load the demo district if the database is empty; print sign-in links")
    p.add_argument("--force", action="store_true", help="load the demo even beside other data")
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("create-admin", help="create a system administrator and print a sign-in link")
    p.add_argument("handle")
    p.add_argument("--name", default="Administrator")
    p.set_defaults(func=cmd_create_admin)
    p = sub.add_parser("issue-code", help="print a single-use, expiring sign-in link for USER")
    p.add_argument("user", metavar="USER", help="the user's user name (handle)")
    p.add_argument("--hours", type=int, default=None, help="validity (default CARELOG_SIGNIN_CODE_HOURS)")
    p.set_defaults(func=cmd_issue_code)
    p = sub.add_parser(
        "close-month", help="close a month of a neighbour meal programme: write its ledger lines, for good"
    )
    p.add_argument("--programme", type=int, required=True, help="the programme's id")
    p.add_argument("--month", required=True, help="YYYY-MM, a month that has ended")
    # The operator's path on the server (no step-up: she holds the server, not a browser session). The
    # separation of duties applies to the person --by names (settlement/duties.py); every self-dealing
    # signal must have been looked at on the settlement page first, whoever closes.
    p.add_argument(
        "--by",
        help="user name of the staff member closing it (default: the operator, no user); refused if she "
        "approved a meal of the month or created an agreement paid in it",
    )
    p.set_defaults(func=cmd_close_month)
    p = sub.add_parser("import", help="import a registry spreadsheet (XLSX or CSV) into a programme")
    p.add_argument("file", metavar="FILE", help="an XLSX or CSV file in the template's columns")
    p.add_argument("--programme", type=int, required=True, help="the programme's id")
    p.add_argument("--dry-run", action="store_true", help="check and print the plan; write nothing")
    p.add_argument(
        "--by", help="user name of the staff member or social worker importing (default: the operator)"
    )
    p.set_defaults(func=cmd_import)
    sub.add_parser("verify-audit", help="recompute the audit chain; name the first bad event").set_defaults(
        func=cmd_verify_audit
    )
    sub.add_parser(
        "purge", help="delete expired ceremonies, ended sessions, spent codes and old rate-limit rows"
    ).set_defaults(func=cmd_purge)
    sub.add_parser("gc-photos", help="remove stored photo files no row names, older than a day").set_defaults(
        func=cmd_gc_photos
    )
    p = sub.add_parser("retention", help="remove photo files whose kept time has run out (hashes stay)")
    p.add_argument("--dry-run", action="store_true", help="list what is due (counts, dates); change nothing")
    p.set_defaults(func=cmd_retention)
    sub.add_parser(
        "check",
        help="check photos' files against their hashes and each closed month's ledger against its check-ins",
    ).set_defaults(func=cmd_check)
    p = sub.add_parser(
        "backup", help="copy the database (consistently, while it runs) and its photos to DEST"
    )
    p.add_argument("dest", metavar="DEST", help="a new or empty directory")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser(
        "restore", help="load a backup from SRC into the configured (empty) database and store"
    )
    p.add_argument("src", metavar="SRC", help="a directory written by `carelog backup`")
    p.add_argument("--force", action="store_true", help="overwrite a database that holds data")
    p.set_defaults(func=cmd_restore)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
