"""The miner's documents as the ledger's cancellations see them: how each is named, what
depends on it, and how its subledger is undone together with its entry.

Undoing a document's subledger is the same for every kind: each lot movement its entry made
is matched by its mirror (the same kind, opposite amounts, under the reversal entry) on the
cancellation's date, and each disposal by its mirror (negative units and amounts), so that
lots, disposals, the journal and every report built on them agree on every day. What may
not be undone is refused, naming the later event that depends on it: a lot the document
opened that has moved since, a lot its remeasurement adjusted that has moved since, a later
remeasurement, a later event of the same loan; and a cancellation dated where a lot would not
hold the units it takes back (a later document, cancelled since, held them until its own
reversal).

A remeasurement is one document of several entries: its entry at its date and the entries
correcting the disposals and transfers after it that it was made knowing
(holdings/services/fair_value_later.py). Cancelling its entry cancels them with it (the
ledger's companions); none is cancelled alone; and a disposal a standing correction corrects
is cancelled only after the remeasurement (see `_refuse_corrected`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from holdings.errors import HoldingsError
from holdings.models import (
    Disposal,
    LoanEvent,
    LoanEventKind,
    Lot,
    LotMovement,
    LotMovementKind,
    Remeasurement,
)
from holdings.selectors.fair_value import measured_its_lots, measured_through, standing
from holdings.services import bulk
from holdings.services.fair_value_later import (
    REMEASUREMENT_KIND,
    corrected_key_suffix,
    correcting_remeasurement_key,
    correction_key,
)
from holdings.services.loan_ltv import loan_check_ltv, lock_loan
from holdings.services.lots import MOVEMENT_COLUMNS, held_after, later_moves, share_lots
from ledger.cancellations import DocumentType, Undone, document_of, register_document
from ledger.models import CancellationStatus, JournalEntry
from ledger.money import format_amount

OPENING_KINDS = (LotMovementKind.OPEN, LotMovementKind.TRANSFER_IN)


class CancellationRefused(HoldingsError):
    code = "cancellation_refused"


def _related(entry: JournalEntry, name: str) -> object | None:
    try:
        return getattr(entry, name)
    except ObjectDoesNotExist:
        return None


# --- naming ------------------------------------------------------------------------------


def _describe_pool_record(entry: JournalEntry) -> str:
    record = _related(entry, "production_record")
    if record is None:
        return f"pool record of entry #{entry.sequence}"
    return f"pool record {record.pool_account.code} {record.day}"  # type: ignore[attr-defined]


def _describe_payout(entry: JournalEntry) -> str:
    payout = _related(entry, "payout")
    if payout is None:
        return f"payout of entry #{entry.sequence}"
    return f"payout {payout.txid} to {payout.wallet.code}"  # type: ignore[attr-defined]


def _describe_sale(entry: JournalEntry) -> str:
    sale = _related(entry, "sale")
    return f"sale {sale.reference}" if sale else f"sale of entry #{entry.sequence}"  # type: ignore[attr-defined]


def _describe_transfer(entry: JournalEntry) -> str:
    transfer = _related(entry, "transfer")
    if transfer is None:
        return f"transfer of entry #{entry.sequence}"
    return f"transfer {transfer.txid}"  # type: ignore[attr-defined]


def _describe_loan_event(entry: JournalEntry) -> str:
    event = _related(entry, "loan_event")
    if event is None:
        return f"loan event of entry #{entry.sequence}"
    return (
        f"loan {event.loan.code} {event.get_kind_display().lower()} "  # type: ignore[attr-defined]
        f"of {event.effective_date}"  # type: ignore[attr-defined]
    )


def _describe_remeasurement(entry: JournalEntry) -> str:
    own = _remeasurement_entry(entry) or entry
    remeasurement = _related(own, "remeasurement")
    if remeasurement is None:
        return f"remeasurement of entry #{own.sequence}"
    return (
        f"remeasurement of {remeasurement.commodity_id} "  # type: ignore[attr-defined]
        f"at {remeasurement.as_of}"  # type: ignore[attr-defined]
    )


def _describe_opening(entry: JournalEntry) -> str:
    return f"opening balances at {entry.effective_date}"


# --- a remeasurement's entries -----------------------------------------------------------


def _standing(entries: QuerySet[JournalEntry]) -> QuerySet[JournalEntry]:
    """Entries neither a reversal nor cancelled."""
    return entries.filter(reversal_of__isnull=True).exclude(
        cancellations__status=CancellationStatus.APPROVED
    )


def _remeasurement_entry(entry: JournalEntry) -> JournalEntry | None:
    """For a remeasurement's correction, the remeasurement's own entry; None otherwise."""
    if entry.kind != REMEASUREMENT_KIND:
        return None
    key = correcting_remeasurement_key(entry.idempotency_key)
    if key is None:
        return None
    return JournalEntry.objects.filter(kind=REMEASUREMENT_KIND, idempotency_key=key).first()


def _corrections(entry: JournalEntry) -> list[JournalEntry]:
    """The standing corrections of a remeasurement's entry, in the journal's order."""
    if entry.kind != REMEASUREMENT_KIND or not entry.idempotency_key:
        return []
    if correcting_remeasurement_key(entry.idempotency_key) is not None:
        return []  # a correction has none of its own
    prefix = correction_key(entry.idempotency_key, 0)[:-1]
    return list(
        _standing(
            JournalEntry.objects.filter(
                kind=REMEASUREMENT_KIND,
                effective_date__gte=entry.effective_date,
                idempotency_key__startswith=prefix,
            )
        ).order_by("effective_date", "sequence", "id")
    )


def _refuse_corrected(entry: JournalEntry, document: str) -> None:
    """A disposal (or transfer) that a back-dated remeasurement corrected stands until the
    remeasurement is cancelled. The remeasurement was made knowing it: it measured the lots
    at its date and carried their adjustment out with the units this entry took. Undoing
    this entry alone would give the units back without the adjustment they carried, leave
    4100 with a correction of a disposal that no longer exists, and the remeasurement's
    figures no longer what 1290 holds; reversing the correction with it would change the
    remeasurement's own document behind it, which only its own cancellation may. So the
    remeasurement is cancelled first (all its entries together), then this: the order a
    finance team follows for any document another was built on."""
    correction = (
        _standing(
            JournalEntry.objects.filter(
                kind=REMEASUREMENT_KIND,
                effective_date__gte=entry.effective_date,
                idempotency_key__startswith="remeasure:",
                idempotency_key__endswith=corrected_key_suffix(entry.pk),
            )
        )
        .order_by("effective_date", "sequence", "id")
        .first()
    )
    if correction is None:
        return
    own = _remeasurement_entry(correction) or correction
    raise CancellationRefused(
        f"{document} cannot be cancelled: the {document_name(correction)} (entry "
        f"#{own.sequence}), made after it, carried its adjustment out with it by entry "
        f"#{correction.sequence} on {correction.effective_date}; cancel that first",
        field="entry",
    )


# --- what depends on a document ----------------------------------------------------------


def _live(movements: Q | None = None) -> Q:
    """Movements whose entry stands: not a cancellation's, nor of an entry cancelled."""
    standing = Q(entry__reversal_of__isnull=True) & ~Q(
        entry__cancellations__status=CancellationStatus.APPROVED
    )
    return standing if movements is None else standing & movements


def _refuse_moved_since(
    entry: JournalEntry, document: str, moved_after: Q, own: list[JournalEntry] | None = None
) -> None:
    """Refuse if a live movement other than the document's own entries' matches."""
    later = (
        LotMovement.objects.filter(_live(moved_after))
        .exclude(entry__in=own or [entry])
        .select_related("entry", "lot__account")
        .order_by("effective_date", "id")
        .first()
    )
    if later is not None:
        raise CancellationRefused(
            f"{document} cannot be cancelled: lot {later.lot_id} in "
            f"{later.lot.account.code} was since moved by the {document_of(later.entry)} "
            f"(entry #{later.entry.sequence}, {later.entry.kind} on {later.effective_date}); "
            "cancel that first",
            field="entry",
        )


def _check_lots(entry: JournalEntry, document: str, on: date) -> None:
    """A lot the document opened must still be as it opened: nothing took from it since.
    And each lot the reversal takes units from must hold them where the reversal goes."""
    _refuse_corrected(entry, document)
    opened = LotMovement.objects.filter(entry=entry, kind__in=OPENING_KINDS).values("lot_id")
    _refuse_moved_since(entry, document, Q(lot_id__in=opened))
    _refuse_units_not_kept(entry, document, on)


def _refuse_units_not_kept(entry: JournalEntry, document: str, on: date) -> None:
    """The reversal, dated `on` after every entry of that day, takes back the units the
    document put in a lot: the lot must hold them then and after every later entry. A later
    document cancelled since is no longer live, but held the units until its own reversal:
    cancelling this one dated before that would empty the lot in between."""
    taken_back = dict(
        LotMovement.objects.filter(entry=entry)
        .values("lot_id")
        .annotate(units=Sum("quantity"))
        .filter(units__gt=0)
        .values_list("lot_id", "units")
    )
    if not taken_back:
        return
    later = later_moves(list(taken_back), on)
    refusal = ""
    kept_from: date | None = on  # the first date the reversal finds every lot holding them
    for lot in (
        Lot.objects.filter(pk__in=taken_back).select_related("account", "commodity").order_by("pk")
    ):
        moves = later.get(lot.pk, [])
        held = held_after(lot.quantity, moves)
        short = [n for n, units in enumerate(held) if units < taken_back[lot.pk]]
        if not short:
            continue
        # held[n] is what the lot holds after moves[n - 1] (held[0]: at the end of `on`); a
        # reversal dated on the day of the entry after the last shortfall comes after it.
        first, last = short[0], short[-1]
        if last == len(moves):  # short even now: only undoing what took them helps
            kept_from = None
        elif kept_from is not None:
            kept_from = max(kept_from, moves[last].effective_date)
        if refusal:
            continue
        if first == 0:
            when = f"at the end of {on}"
        else:
            dip = moves[first - 1]
            when = f"after entry #{dip.sequence} ({dip.kind} on {dip.effective_date})"
        places = lot.commodity.decimal_places
        refusal = (
            f"{document} cannot be cancelled on {on}: it takes "
            f"{format_amount(taken_back[lot.pk], places)} units back from lot {lot.pk} in "
            f"{lot.account.code}, which holds only {format_amount(held[first], places)} {when}"
        )
    if refusal:
        remedy = (
            f"date the cancellation on or after {kept_from}"
            if kept_from is not None
            else "cancel what took them first"
        )
        raise CancellationRefused(f"{refusal}; {remedy}", field="effective_date")


def _refuse_remeasured(entry: JournalEntry, document: str, on: date) -> None:
    """The reversal moves the document's lots on `on`: not on or before the day of a
    standing remeasurement of their commodity, which measured them as they stood then."""
    codes = set(LotMovement.objects.filter(entry=entry).values_list("lot__commodity_id", flat=True))
    found = measured_through(codes, on) if codes else {}
    if found:
        remeasurement = max(found.values(), key=lambda found: (found.as_of, found.commodity_id))
        raise CancellationRefused(
            f"{document} cannot be cancelled on {on}: {measured_its_lots(remeasurement)}; "
            f"date the cancellation after {remeasurement.as_of}, or cancel that remeasurement "
            "first",
            field="effective_date",
        )


def _check_lots_only(entry: JournalEntry, on: date) -> None:
    document = document_name(entry)
    _check_lots(entry, document, on)
    _refuse_remeasured(entry, document, on)


def _check_remeasurement(entry: JournalEntry, on: date) -> None:
    """A remeasurement is cancelled by its own entry, with its corrections; a later
    remeasurement, or a later document that took the lots as it left them, goes first."""
    document = document_name(entry)
    own = _remeasurement_entry(entry)
    if own is not None:
        if not own.cancellations.filter(status=CancellationStatus.APPROVED).exists():
            raise CancellationRefused(
                f"entry #{entry.sequence} is part of the {document} (entry #{own.sequence}) "
                "and is cancelled only with it: cancel that instead",
                field="entry",
            )
        # Left standing by a cancellation of its remeasurement before corrections went with
        # it: the one way it is undone now.
        _check_lots(entry, document, on)
        return
    remeasurement = _related(entry, "remeasurement")
    if remeasurement is not None:
        later = (
            standing(
                Remeasurement.objects.filter(
                    commodity_id=remeasurement.commodity_id,  # type: ignore[attr-defined]
                    as_of__gt=remeasurement.as_of,  # type: ignore[attr-defined]
                    entry__isnull=False,
                )
            )
            .order_by("as_of")
            .first()
        )
        if later is not None:
            raise CancellationRefused(
                f"{document} cannot be cancelled: the remeasurement at {later.as_of} measured "
                "from it; cancel that first",
                field="entry",
            )
    # Its own entries (its corrections, its adjustment carried with later transfers) are
    # undone with it; only another document's movement since it was made stands in the way.
    entries = [entry, *_corrections(entry)]
    first = LotMovement.objects.filter(entry__in=entries).order_by("id").first()
    if first is not None:
        adjusted = LotMovement.objects.filter(entry__in=entries).values("lot_id")
        _refuse_moved_since(entry, document, Q(lot_id__in=adjusted, id__gt=first.pk), entries)


def _check_loan_event(entry: JournalEntry, on: date) -> None:
    document = document_name(entry)
    _check_lots(entry, document, on)
    _refuse_remeasured(entry, document, on)
    event = _related(entry, "loan_event")
    if event is None:
        return
    later = (
        LoanEvent.objects.filter(loan_id=event.loan_id, entry__isnull=False)  # type: ignore[attr-defined]
        .filter(
            Q(effective_date__gt=event.effective_date)  # type: ignore[attr-defined]
            | Q(effective_date=event.effective_date, pk__gt=event.pk)  # type: ignore[attr-defined]
        )
        .exclude(entry__cancellations__status=CancellationStatus.APPROVED)
    )
    if event.kind == LoanEventKind.ACCRUAL:  # type: ignore[attr-defined]
        # Later interest does not build on earlier interest; what paid it does.
        later = later.filter(kind__in=[LoanEventKind.REPAYMENT, LoanEventKind.LIQUIDATION])
    depending = later.order_by("effective_date", "id").first()
    if depending is not None:
        sequence = depending.entry.sequence if depending.entry else "?"
        raise CancellationRefused(
            f"{document} cannot be cancelled: the loan's {depending.get_kind_display().lower()} "
            f"of {depending.effective_date} (entry #{sequence}) came after it and builds on "
            "it; cancel that first",
            field="entry",
        )


# --- undoing -----------------------------------------------------------------------------


def lock_lots(entry: JournalEntry) -> None:
    """The lots the entry moved, locked in id order: a sale or transfer taking from them
    waits for the cancellation, which checks and undoes them as they stand."""
    share_lots()
    list(
        Lot.objects.select_for_update(of=("self",))
        .filter(movements__entry=entry)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _lock_loan_event(entry: JournalEntry) -> None:
    """The loan's row, then its lots: the order the loan's services lock them in."""
    event = _related(entry, "loan_event")
    if event is not None:
        lock_loan(event.loan_id)  # type: ignore[attr-defined]
    lock_lots(entry)


def _lock_remeasurement(entry: JournalEntry) -> None:
    """The lots of every entry of the remeasurement, in id order."""
    moved = LotMovement.objects.filter(entry__in=[entry, *_corrections(entry)]).values("lot_id")
    share_lots()
    list(
        Lot.objects.select_for_update()
        .filter(pk__in=moved)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def undo_subledger(entry: JournalEntry, reversal: JournalEntry, on: date) -> None:
    """Match every lot movement and disposal of `entry` with its mirror, under `reversal`,
    dated `on`; the lots' state follows (locked in id order first)."""
    _undo([(entry, reversal, on)], keep_later_dates=False)


def _undo_remeasurement(parts: list[Undone]) -> None:
    """Undo a remeasurement's lots: its entry's movements and its corrections', given with
    their reversals, together (one lot can be adjusted by the entry and emptied of it by a
    correction: undone one entry after the other, it would carry an adjustment without
    units in between).

    Its entry moved lots on its date, and on the later dates of the transfers that carried
    its adjustment from lot to lot within one adjustment account (movements of no balance:
    the entry posts nothing then). Each movement is mirrored on its reversal's date, or on
    its own date when that is later: a lot a transfer opened is never moved before it was
    there, and as each day's carried movements net to nothing per adjustment account, so
    do their mirrors; what moves balances (the entry's own date, each correction's) is
    mirrored on its reversal's date, with the reversal's postings. So the journal and the
    lots agree on every day."""
    _undo(parts, keep_later_dates=True)


def _undo_one_remeasurement_entry(entry: JournalEntry, reversal: JournalEntry, on: date) -> None:
    _undo_remeasurement([(entry, reversal, on)])


def _undo(parts: list[Undone], *, keep_later_dates: bool) -> None:
    moved = [
        (movement, reversal, max(on, movement.effective_date) if keep_later_dates else on)
        for entry, reversal, on in parts
        for movement in LotMovement.objects.filter(entry=entry).order_by("id")
    ]
    if moved:
        lots = {
            lot.pk: lot
            for lot in Lot.objects.select_for_update()
            .filter(pk__in={movement.lot_id for movement, _reversal, _on in moved})
            .order_by("pk")
        }
        now = timezone.now()
        rows = []
        for movement, reversal, on in moved:
            lot = lots[movement.lot_id]
            lot.quantity -= movement.quantity
            lot.cost -= movement.cost
            lot.fair_value_adjustment -= movement.fair_value_adjustment
            rows.append(
                (
                    lot.pk,
                    reversal.pk,
                    on,
                    movement.kind,
                    -movement.quantity,
                    -movement.cost,
                    -movement.fair_value_adjustment,
                    now,
                )
            )
        bulk.update_lots(list(lots.values()))
        bulk.insert("holdings_lotmovement", MOVEMENT_COLUMNS, rows)
    Disposal.objects.bulk_create(
        Disposal(
            lot_id=disposal.lot_id,
            sale_id=disposal.sale_id,
            transfer_id=disposal.transfer_id,
            entry=reversal,
            disposed_on=on,
            units=-disposal.units,
            cost=-disposal.cost,
            carrying_value=-disposal.carrying_value,
            proceeds=-disposal.proceeds,
            realized_gain=-disposal.realized_gain,
            days_held=disposal.days_held,
            method=disposal.method,
            reversal_of=disposal,
        )
        for entry, reversal, on in parts
        for disposal in Disposal.objects.filter(entry=entry).order_by("id")
    )


def _undo_loan_event(entry: JournalEntry, reversal: JournalEntry, on: date) -> None:
    undo_subledger(entry, reversal, on)
    event = _related(entry, "loan_event")
    if event is not None:
        loan_check_ltv(loan=event.loan, as_of=on)  # type: ignore[attr-defined]


# --- registration ------------------------------------------------------------------------

_DESCRIBERS: dict[str, Callable[[JournalEntry], str]] = {
    "pool_earning": _describe_pool_record,
    "pool_payout": _describe_payout,
    "sale": _describe_sale,
    "wallet_transfer": _describe_transfer,
    "fair_value_remeasurement": _describe_remeasurement,
    "opening_balance": _describe_opening,
    **{
        kind: _describe_loan_event
        for kind in (
            "loan_draw",
            "loan_pledge",
            "loan_release",
            "loan_interest",
            "loan_repayment",
            "loan_liquidation",
        )
    },
}


def document_name(entry: JournalEntry) -> str:
    return _DESCRIBERS[entry.kind](entry)


def register() -> None:
    """Tell the ledger how each of the miner's documents is cancelled."""
    for kind, describe in _DESCRIBERS.items():
        if kind.startswith("loan_"):
            document = DocumentType(describe, _check_loan_event, _undo_loan_event, _lock_loan_event)
        elif kind == REMEASUREMENT_KIND:
            document = DocumentType(
                describe,
                _check_remeasurement,
                _undo_one_remeasurement_entry,
                _lock_remeasurement,
                companions=_corrections,
                undo_together=_undo_remeasurement,
            )
        else:
            document = DocumentType(describe, _check_lots_only, undo_subledger, lock_lots)
        register_document((kind,), document)
