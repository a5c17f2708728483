"""The holdings REST API, one module per domain. Thin: validate, call one service or
selector, shape the output.

Roles come from the default permission class (ledger.api.permissions.RolePermission): every
role reads (auditors included), finance staff and approvers upload pool files, a user with
no role gets 403, anonymous 401. Answers are JSON; a pool file is uploaded as
multipart/form-data.
"""
