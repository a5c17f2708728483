"""The admin's one way of writing dates and times, whatever the browser's language: dates
as YYYY-MM-DD, times as YYYY-MM-DD HH:MM UTC (TIME_ZONE is UTC). Django's own formats for
English ("Jan. 31, 2026, 8 a.m.") would otherwise win over settings.DATE_FORMAT."""
