// A manual journal's lines while they are typed: each line's commodity (from its account), a
// USD line's value filled from its amount, and the running totals of the debits and credits
// in USD with their difference. Exact: amounts are counted in cents as BigInt, never floats.
// The server checks everything again; this only helps the typing.
"use strict";
(function () {
    const USD = "USD";
    const CENTS = 2;

    function accounts() {
        const data = document.getElementById("journal-accounts");
        return data ? JSON.parse(data.textContent) : {};
    }

    // "1,234.5" -> 123450n at 2 places; "" -> null; not a number, or too many decimals -> NaN.
    function units(text, places) {
        const clean = (text || "").trim().replace(/,/g, "");
        if (clean === "") {
            return null;
        }
        const match = /^(\d*)(?:\.(\d*))?$/.exec(clean);
        if (!match || (match[1] === "" && !match[2])) {
            return NaN;
        }
        const fraction = (match[2] || "").replace(/0+$/, "");
        if (fraction.length > places) {
            return NaN;
        }
        return BigInt((match[1] || "0") + fraction.padEnd(places, "0"));
    }

    function shown(amount, places) {
        const negative = amount < 0n;
        const digits = (negative ? -amount : amount).toString().padStart(places + 1, "0");
        const whole = digits.slice(0, digits.length - places).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
        const fraction = places ? "." + digits.slice(digits.length - places) : "";
        return (negative ? "-" : "") + whole + fraction;
    }

    function field(row, name) {
        return row.querySelector('[name$="-' + name + '"]');
    }

    function lineRows() {
        return Array.from(document.querySelectorAll("#lines-group tr.form-row")).filter(
            (row) => !row.classList.contains("empty-form") && field(row, "debit")
        );
    }

    function update() {
        const totals = document.getElementById("journal-totals");
        if (!totals) {
            return;
        }
        const known = accounts();
        let debits = 0n;
        let credits = 0n;
        const problems = [];
        lineRows().forEach((row, index) => {
            const number = index + 1;
            const account = field(row, "account");
            const info = account ? known[account.value] : undefined;
            const commodity = row.querySelector("td.field-commodity p, td.field-commodity");
            if (commodity) {
                commodity.textContent = info ? info[0] : "-";
            }
            const debit = field(row, "debit");
            const credit = field(row, "credit");
            const value = field(row, "value");
            const removed = field(row, "DELETE");
            const typed = debit.value.trim() !== "" ? debit : credit;
            if (value) {
                const usd = info !== undefined && info[0] === USD;
                value.readOnly = usd;
                if (usd) {
                    value.value = typed.value.trim();
                }
            }
            if (removed && removed.checked) {
                return;
            }
            if (debit.value.trim() !== "" && credit.value.trim() !== "") {
                problems.push("line " + number + " has both a debit and a credit");
                return;
            }
            const amount = value ? units(value.value, CENTS) : null;
            if (amount === null) {
                return;
            }
            if (Number.isNaN(amount)) {
                problems.push("line " + number + ": the USD value is not an amount in cents");
                return;
            }
            if (typed === debit && debit.value.trim() !== "") {
                debits += amount;
            } else if (credit.value.trim() !== "") {
                credits += amount;
            }
        });
        const difference = debits - credits;
        totals.querySelector('[data-total="debits"]').textContent = shown(debits, CENTS) + " " + USD;
        totals.querySelector('[data-total="credits"]').textContent =
            shown(credits, CENTS) + " " + USD;
        const cell = totals.querySelector('[data-total="difference"]');
        cell.textContent = shown(difference, CENTS) + " " + USD;
        cell.classList.toggle("unbalanced", difference !== 0n);
        const note = document.querySelector('[data-total="problems"]');
        if (note) {
            note.textContent = problems.length ? "Not counted: " + problems.join("; ") + "." : "";
        }
    }

    function start() {
        if (!document.getElementById("journal-accounts")) {
            return; // a journal that is not being typed: its totals are the server's
        }
        document.addEventListener("input", update);
        document.addEventListener("change", update);
        document.addEventListener("formset:added", update);
        document.addEventListener("formset:removed", update);
        if (window.django && window.django.jQuery) {
            // The account's autocomplete (select2) tells jQuery, not the DOM, of a change.
            window.django.jQuery(document).on("change select2:select", "select", update);
        }
        update();
    }

    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", start);
    } else {
        start();
    }
})();
