"""The import commands refuse a file they cannot keep by name, naming it, writing nothing."""

from __future__ import annotations

import os

import pytest
from django.core.management import CommandError, call_command

from holdings.models import ImportBatch, MeterReading, StatementUpload


@pytest.mark.django_db
@pytest.mark.parametrize(
    "arguments",
    [
        ["import_production", "--source", "csv", "--sync"],
        ["import_statement", "--kind", "custodian", "--sync"],
        ["import_site_costs", "--meter-readings"],
    ],
)
def test_a_file_whose_name_is_not_utf8_is_refused_naming_it(chart, tmp_path, arguments):
    # The file system holds the name as bytes that are not UTF-8 (Python keeps them as
    # surrogates, which PostgreSQL cannot store).
    path = tmp_path / os.fsdecode(b"file\xff.csv")
    path.write_bytes(b"date,account,commodity,balance\n")
    with pytest.raises(CommandError, match=r"file\\xff\.csv: the file's name is not UTF-8"):
        call_command(*arguments, str(path))
    missing = tmp_path / "missing.csv"
    with pytest.raises(CommandError, match=r"cannot read .*missing\.csv"):
        call_command(*arguments, str(missing))
    assert not ImportBatch.objects.exists() and not StatementUpload.objects.exists()
    assert not MeterReading.objects.exists()
