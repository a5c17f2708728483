"""The form of a loan's event, recorded through holdings.services.loans."""

from __future__ import annotations

from typing import Any

from django import forms

from holdings.admin.forms.setup import active_wallets
from holdings.models import Loan, LoanEvent, Wallet
from holdings.services import loans
from ledger.dates import validate_posting_date

LOAN_EVENT_KINDS = [
    ("draw", "Draw of principal"),
    ("pledge", "Collateral pledged"),
    ("release", "Collateral released"),
    ("repayment", "Repayment"),
    ("liquidation", "Liquidation by the lender"),
    ("accrual", "A day's interest"),
]
# What each kind needs besides the loan, the kind and the date.
LOAN_EVENT_NEEDS = {
    "draw": ("amount",),
    "pledge": ("units", "wallet"),
    "release": ("units", "wallet"),
    "repayment": ("amount",),
    "liquidation": ("units", "proceeds"),
    "accrual": (),
}


class LoanEventRecordForm(forms.Form):
    """An event of a loan, recorded through holdings.services.loans."""

    loan = forms.ModelChoiceField(queryset=Loan.objects.none(), to_field_name="code")
    kind = forms.ChoiceField(choices=LOAN_EVENT_KINDS)
    on = forms.DateField(
        label="On (UTC date)", input_formats=["%Y-%m-%d"], validators=[validate_posting_date]
    )
    amount = forms.DecimalField(
        required=False, help_text="Draw or repayment, in the loan's commodity."
    )
    units = forms.DecimalField(
        required=False, help_text="Collateral pledged, released or liquidated."
    )
    proceeds = forms.DecimalField(
        required=False, help_text="Liquidation: what the lender kept, in the loan's commodity."
    )
    wallet = forms.ModelChoiceField(
        queryset=Wallet.objects.none(),
        to_field_name="code",
        required=False,
        help_text="Pledge: the wallet the collateral leaves; release: where it returns; a "
        "USDT loan's draw or repayment: its USDT wallet.",
    )
    control = forms.ChoiceField(
        choices=[(loans.RETAINED, "Retained"), (loans.TRANSFERRED, "Transferred to the lender")],
        initial=loans.RETAINED,
        required=False,
        help_text="Pledge, release, liquidation: who controls the collateral.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["loan"].queryset = Loan.objects.select_related(  # type: ignore[attr-defined]
            "principal_commodity", "collateral_commodity"
        ).order_by("code")
        self.fields["wallet"].queryset = active_wallets()  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        for name in LOAN_EVENT_NEEDS.get(kind or "", ()):
            if data.get(name) in (None, "") and name not in self.errors:
                self.add_error(name, f"A {kind} needs this.")
        return data

    def record(self, user: Any) -> LoanEvent:
        """Call the service; a LedgerError is the caller's to show."""
        data = self.cleaned_data
        loan, kind, on = data["loan"], data["kind"], data["on"]
        control = data.get("control") or loans.RETAINED
        wallet = data.get("wallet")
        if kind == "draw":
            return loans.loan_draw(
                loan=loan, amount=data["amount"], on=on, to_wallet=wallet, created_by=user
            )
        if kind == "pledge":
            return loans.loan_pledge(
                loan=loan,
                units=data["units"],
                from_wallet=data["wallet"],
                on=on,
                control=control,
                created_by=user,
            )
        if kind == "release":
            return loans.loan_release(
                loan=loan,
                units=data["units"],
                to_wallet=data["wallet"],
                on=on,
                control=control,
                created_by=user,
            )
        if kind == "repayment":
            return loans.loan_repay(
                loan=loan, amount=data["amount"], on=on, from_wallet=wallet, created_by=user
            )
        if kind == "liquidation":
            return loans.loan_liquidate(
                loan=loan,
                units=data["units"],
                proceeds=data["proceeds"],
                on=on,
                control=control,
                created_by=user,
            )
        return loans.loan_accrue(loan=loan, on=on)
