-- A month's close review is kept as it was written: insert-only.
CREATE FUNCTION holdings_close_review_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM ledger_violation('holdings_close_review_immutable',
            'period close reviews cannot be truncated');
    END IF;
    PERFORM ledger_violation('holdings_close_review_immutable',
        format('the review of the close of %s cannot be %s: a close review is kept as written',
               to_char(OLD.month, 'YYYY-MM'),
               CASE TG_OP WHEN 'UPDATE' THEN 'changed' ELSE 'deleted' END));
    RETURN NULL;
END $$;
CREATE TRIGGER holdings_close_review_immutable
    BEFORE UPDATE OR DELETE ON holdings_periodclosereview
    FOR EACH ROW EXECUTE FUNCTION holdings_close_review_immutable();
CREATE TRIGGER holdings_close_review_no_truncate
    BEFORE TRUNCATE ON holdings_periodclosereview
    FOR EACH STATEMENT EXECUTE FUNCTION holdings_close_review_immutable();
