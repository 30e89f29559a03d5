-- The head office's schema (`till store init`): one PostgreSQL database for a store or a chain.
-- Registers ship their journal into it through `till.ingest`, and read back only their own head
-- and the published versions. Everything else is the head office's (the accountant's SQL).
-- Run once, in one transaction, by a role that may create roles.

CREATE SCHEMA till;
REVOKE ALL ON SCHEMA till FROM PUBLIC;
-- Registers work through the functions only: no temporary tables of their own either (the
-- functions' are their owner's).
-- Nor anything else by default: the registers' group may connect to this database (and, by the
-- server's pg_hba.conf, to no other); nobody may create objects in `public` (a trap for the
-- administrator's search_path; already so from PostgreSQL 15).
DO $$
BEGIN
    EXECUTE format('REVOKE ALL ON DATABASE %I FROM PUBLIC', current_database());
END
$$;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'till_register') THEN
        CREATE ROLE till_register NOLOGIN;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA till TO till_register;
DO $$
BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO till_register', current_database());
END
$$;

CREATE TABLE till.meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

-- One row a register: the role that ships for it, and the head of its chain as held here.
CREATE TABLE till.registers (
    store            text NOT NULL,
    register         text NOT NULL,
    role             name NOT NULL UNIQUE,
    head_seq         bigint NOT NULL DEFAULT 0,
    head_hash        bytea NOT NULL DEFAULT decode(repeat('00', 32), 'hex'),
    last_shipment_at timestamptz,
    -- Set when a shipment does not extend the chain held here (a rewritten ledger); nothing of
    -- that register is taken again until the head office clears it.
    flagged_at       timestamptz,
    flag_reason      text,
    PRIMARY KEY (store, register)
);

-- Every flag the administrator cleared (`till store unflag`): the flag, who cleared it, when and
-- why. A cleared flag is not forgotten.
CREATE TABLE till.flag_clearances (
    store       text NOT NULL,
    register    text NOT NULL,
    flagged_at  timestamptz NOT NULL,
    flag_reason text NOT NULL,
    cleared_at  timestamptz NOT NULL DEFAULT now(),
    cleared_by  name NOT NULL DEFAULT session_user,
    note        text NOT NULL CHECK (note <> ''),
    FOREIGN KEY (store, register) REFERENCES till.registers
);

-- Every entry as the till hashed it: SHA-256(prev_hash ‖ canonical) = hash.
CREATE TABLE till.journal (
    store       text   NOT NULL,
    register    text   NOT NULL,
    seq         bigint NOT NULL,
    kind        text   NOT NULL,
    day_no      bigint,
    recorded_at text   NOT NULL,
    prev_hash   bytea  NOT NULL,
    hash        bytea  NOT NULL,
    canonical   bytea  NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (store, register, seq)
);

-- The rows below are read out of the hashed canonical bytes as they arrive: nothing here is
-- taken from the till that its chain does not cover.
CREATE TABLE till.business_days (
    store         text   NOT NULL,
    register      text   NOT NULL,
    day_no        bigint NOT NULL,
    business_date date   NOT NULL,
    float_minor   bigint NOT NULL,
    opened_seq    bigint NOT NULL,
    PRIMARY KEY (store, register, day_no)
);

-- The three tables that grow with every sale are partitioned by business date, a partition a
-- month, made as the first sale of the month arrives (`till.ensure_month`).
CREATE TABLE till.sales (
    store         text    NOT NULL,
    register      text    NOT NULL,
    seq           bigint  NOT NULL,
    business_date date    NOT NULL,
    day_no        bigint  NOT NULL,
    receipt_no    bigint  NOT NULL,
    kind          text    NOT NULL,
    refund_of     bigint,
    currency      text    NOT NULL,
    tax_included  boolean NOT NULL,
    gross         bigint  NOT NULL,
    discount      bigint  NOT NULL,
    tax           bigint  NOT NULL,
    total         bigint  NOT NULL,
    rounding      bigint  NOT NULL,
    cashier       text    NOT NULL,
    training      boolean NOT NULL,
    completed_at  text    NOT NULL,
    PRIMARY KEY (store, register, seq, business_date)
) PARTITION BY RANGE (business_date);

CREATE TABLE till.sale_lines (
    store             text    NOT NULL,
    register          text    NOT NULL,
    seq               bigint  NOT NULL,
    business_date     date    NOT NULL,
    line_no           bigint  NOT NULL,
    sku               text    NOT NULL,
    name_zh           text    NOT NULL,
    name_en           text    NOT NULL,
    qty_milli         bigint  NOT NULL,
    unit_price        bigint  NOT NULL,
    sold_by           text    NOT NULL,
    tax_class         text    NOT NULL,
    tax_rate          numeric NOT NULL,
    gross             bigint  NOT NULL,
    line_discount     bigint  NOT NULL,
    sale_discount     bigint  NOT NULL,
    amount            bigint  NOT NULL,
    tax               bigint  NOT NULL,
    price_overridden  boolean NOT NULL,
    refund_of_receipt bigint,
    refund_of_line    bigint,
    PRIMARY KEY (store, register, seq, line_no, business_date)
) PARTITION BY RANGE (business_date);

CREATE TABLE till.payments (
    store         text   NOT NULL,
    register      text   NOT NULL,
    seq           bigint NOT NULL,
    business_date date   NOT NULL,
    tender_no     bigint NOT NULL,
    kind          text   NOT NULL,
    amount        bigint NOT NULL,
    given         bigint NOT NULL,
    change        bigint NOT NULL,
    reference     text,
    masked_pan    text,
    card_name     text,
    card_receipt  bigint,
    card_trace    bigint,
    terminal_id   text,
    aid           text,
    PRIMARY KEY (store, register, seq, tender_no, business_date)
) PARTITION BY RANGE (business_date);

-- A handful of rows a register a day: not partitioned.
CREATE TABLE till.card_results (
    store        text   NOT NULL,
    register     text   NOT NULL,
    seq          bigint NOT NULL,
    day_no       bigint,
    intent       bigint NOT NULL,
    outcome      text   NOT NULL,
    result_code  bigint,
    amount       bigint,
    masked_pan   text,
    card_name    text,
    card_receipt bigint,
    trace        bigint,
    terminal_id  text,
    card_type    bigint,
    PRIMARY KEY (store, register, seq)
);

CREATE TABLE till.drawer_counts (
    store    text    NOT NULL,
    register text    NOT NULL,
    seq      bigint  NOT NULL,
    day_no   bigint  NOT NULL,
    counted  bigint  NOT NULL,
    expected bigint  NOT NULL,
    blind    boolean NOT NULL,
    note     text    NOT NULL,
    PRIMARY KEY (store, register, seq)
);

CREATE TABLE till.cash_movements (
    store       text   NOT NULL,
    register    text   NOT NULL,
    seq         bigint NOT NULL,
    day_no      bigint NOT NULL,
    direction   text   NOT NULL,
    amount      bigint NOT NULL,
    reason      text   NOT NULL,
    approved_by text   NOT NULL,
    PRIMARY KEY (store, register, seq)
);

-- The terminal's end-of-day: its totals by card family ("family:count:amount ...").
CREATE TABLE till.terminal_eods (
    store    text   NOT NULL,
    register text   NOT NULL,
    seq      bigint NOT NULL,
    day_no   bigint NOT NULL,
    by_card  text   NOT NULL,
    total    bigint NOT NULL,
    PRIMARY KEY (store, register, seq)
);

-- The Zs.
CREATE TABLE till.day_closes (
    store       text   NOT NULL,
    register    text   NOT NULL,
    seq         bigint NOT NULL,
    day_no      bigint NOT NULL,
    z_no        bigint NOT NULL,
    net         bigint NOT NULL,
    grand_total bigint NOT NULL,
    PRIMARY KEY (store, register, seq)
);

-- What the head office ships back: numbered versions of the catalog (the CSV the till imports)
-- of the store's users (id, name, role and argon2 PIN hash, a line each) and of the store's
-- settings (its `[store]` table and tax classes, as TOML), applied by each till between sales.
CREATE TABLE till.versions (
    version      bigserial PRIMARY KEY,
    -- The store it is for; none: every store of the chain.
    store        text,
    kind         text NOT NULL CHECK (kind IN ('catalog', 'users', 'settings')),
    body         text NOT NULL,
    sha256       text NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now(),
    published_by text NOT NULL DEFAULT session_user
);

-- A value of canonical bytes, unescaped (the till escapes \ and newline).
CREATE FUNCTION till.unescape(v text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN strpos(v, '\') = 0 THEN v
                ELSE replace(replace(replace(v, '\\', chr(1)), '\n', chr(10)), chr(1), '\') END
$$;

-- Stops a shipment: a part of an entry this head office cannot read (called where a row does not
-- have the form it must, so the check costs nothing more than the read).
CREATE FUNCTION till.refuse(why text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', why;
END
$$;

-- An optional value: "-" is none.
CREATE FUNCTION till.opt(v text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT NULLIF(v, '-') $$;

-- The month's partitions of the partitioned tables, made when missing.
CREATE FUNCTION till.ensure_month(month date) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t text;
    first date := date_trunc('month', month)::date;
BEGIN
    FOREACH t IN ARRAY ARRAY['sales', 'sale_lines', 'payments'] LOOP
        IF to_regclass(format('till.%I', t || '_' || to_char(first, 'YYYYMM'))) IS NULL THEN
            -- Two registers may arrive at a new month at once: one makes it, the other waits.
            PERFORM pg_advisory_xact_lock(hashtext('till.ensure_month'));
            IF to_regclass(format('till.%I', t || '_' || to_char(first, 'YYYYMM'))) IS NULL THEN
                EXECUTE format('CREATE TABLE till.%I PARTITION OF till.%I FOR VALUES FROM (%L) TO (%L)',
                               t || '_' || to_char(first, 'YYYYMM'), t, first, (first + interval '1 month')::date);
            END IF;
        END IF;
    END LOOP;
END
$$;

-- A register's shipment: entries in order, each its seq, the hash before it, its hash and its
-- canonical bytes. The register is the caller's role's; nothing else is taken from it.
-- Entries already held must be the same (a second delivery changes nothing); new ones must extend
-- the chain held here, each hash SHA-256(prev ‖ canonical), each header naming its seq and this
-- register. A shipment that does not extend the chain flags the register and is refused.
-- Returns the status ('ok', 'refused', 'flagged', 'gap'), the head held after it and a detail.
CREATE FUNCTION till.ingest(p_seq bigint[], p_prev bytea[], p_hash bytea[], p_canonical bytea[])
RETURNS TABLE (status text, head_seq bigint, head_hash bytea, detail text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
-- The planner guesses a thousand lines a sale and would compile each statement for seconds: a
-- shipment's statements are short, so no JIT.
SET jit = off AS $$
DECLARE
    r       till.registers%ROWTYPE;
    bad     record;
    month   date;
    new_head bigint;
    new_hash bytea;
BEGIN
    SELECT * INTO r FROM till.registers WHERE role = session_user FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role % ships for no register', session_user;
    END IF;
    IF r.flagged_at IS NOT NULL THEN
        RETURN QUERY SELECT 'flagged'::text, r.head_seq, r.head_hash, r.flag_reason;
        RETURN;
    END IF;
    IF cardinality(p_seq) IS DISTINCT FROM cardinality(p_prev)
       OR cardinality(p_seq) IS DISTINCT FROM cardinality(p_hash)
       OR cardinality(p_seq) IS DISTINCT FROM cardinality(p_canonical) THEN
        RAISE EXCEPTION 'a shipment''s arrays differ in length';
    END IF;

    DROP TABLE IF EXISTS pg_temp.ingest_batch;
    CREATE TEMP TABLE ingest_batch ON COMMIT DROP AS
    SELECT u.ord, u.seq, u.prev, u.hash, u.canonical,
           x.h[2] AS seq_line,
           till.unescape(substr(x.h[3], 10)) AS register_field,
           x.h[1] LIKE 'v=%' AND x.h[3] LIKE 'register=%' AND x.h[4] LIKE 'kind=%' AND x.h[5] LIKE 'day=%'
               AND x.h[6] LIKE 'at=%' AS register_line,
           substr(x.h[4], 6) AS kind,
           till.opt(substr(x.h[5], 5))::bigint AS day_no,
           till.unescape(substr(x.h[6], 4)) AS recorded_at,
           t.text
      FROM unnest(p_seq, p_prev, p_hash, p_canonical) WITH ORDINALITY AS u(seq, prev, hash, canonical, ord)
     -- `OFFSET 0`: each entry decoded and its header split once, not once a column.
     CROSS JOIN LATERAL (SELECT convert_from(u.canonical, 'UTF8') AS text OFFSET 0) t
     CROSS JOIN LATERAL (SELECT string_to_array(left(t.text, 1024), E'\n') AS h OFFSET 0) x;

    -- Entries held already (the one held last, shipped again on purpose): the same bytes, or the
    -- ledger was rewritten after it shipped them. One primary-key look-up each.
    FOR bad IN SELECT b.seq, b.hash, b.canonical FROM ingest_batch b WHERE b.seq <= r.head_seq ORDER BY b.seq LOOP
        IF NOT EXISTS (SELECT 1 FROM till.journal j
                        WHERE j.store = r.store AND j.register = r.register AND j.seq = bad.seq
                          AND j.hash = bad.hash AND j.canonical = bad.canonical) THEN
            UPDATE till.registers SET flagged_at = now(),
                   flag_reason = format('entry %s differs from the one shipped before: the ledger was rewritten', bad.seq)
            WHERE store = r.store AND register = r.register;
            RETURN QUERY SELECT 'refused'::text, r.head_seq, r.head_hash,
                format('entry %s differs from the one shipped before: the ledger was rewritten', bad.seq);
            RETURN;
        END IF;
    END LOOP;
    DELETE FROM ingest_batch b WHERE b.seq <= r.head_seq;

    -- New entries: from head + 1 on, without a gap, each linked to the one before.
    SELECT n.seq, n.expected, n.prev, n.before, n.hash, n.computed, n.seq_line, n.register_field,
           n.register_line, n.kind
      INTO bad
      FROM (SELECT b.*, r.head_seq + row_number() OVER w AS expected,
                   coalesce(lag(b.hash) OVER w, r.head_hash) AS before,
                   sha256(b.prev || b.canonical) AS computed
              FROM ingest_batch b WINDOW w AS (ORDER BY b.ord)) n
     WHERE n.seq <> n.expected OR n.prev <> n.before OR n.hash <> n.computed
        OR n.seq_line <> 'seq=' || n.seq OR NOT n.register_line OR n.register_field <> r.register
        OR n.kind = '' OR n.recorded_at = ''
     ORDER BY n.ord LIMIT 1;
    IF FOUND THEN
        IF bad.seq <> bad.expected AND bad.expected = r.head_seq + 1 AND bad.seq > bad.expected THEN
            -- Entries missing before this shipment: the till sends again from the head.
            RETURN QUERY SELECT 'gap'::text, r.head_seq, r.head_hash,
                format('entries %s to %s are missing', bad.expected, bad.seq - 1);
            RETURN;
        END IF;
        UPDATE till.registers SET flagged_at = now(),
               flag_reason = CASE
                   WHEN bad.prev <> bad.before THEN format(
                       'entry %s does not link to entry %s held here: the ledger was rewritten', bad.seq, bad.seq - 1)
                   WHEN bad.hash <> bad.computed THEN format('entry %s: its hash is not that of its bytes', bad.seq)
                   ELSE format('entry %s: its header is not this register''s next entry', bad.seq) END
        WHERE store = r.store AND register = r.register;
        RETURN QUERY SELECT 'refused'::text, r.head_seq, r.head_hash,
            (SELECT flag_reason FROM till.registers WHERE store = r.store AND register = r.register);
        RETURN;
    END IF;

    SELECT b.seq, b.hash INTO new_head, new_hash FROM ingest_batch b ORDER BY b.ord DESC LIMIT 1;
    IF NOT FOUND THEN
        UPDATE till.registers SET last_shipment_at = now() WHERE store = r.store AND register = r.register;
        RETURN QUERY SELECT 'ok'::text, r.head_seq, r.head_hash, ''::text;
        RETURN;
    END IF;

    INSERT INTO till.journal (store, register, seq, kind, day_no, recorded_at, prev_hash, hash, canonical)
    SELECT r.store, r.register, b.seq, b.kind, b.day_no, b.recorded_at, b.prev, b.hash, b.canonical
      FROM ingest_batch b ORDER BY b.ord;

    -- The fields of the entries with a few rows a day (days, Zs, card results, counts...).
    DROP TABLE IF EXISTS pg_temp.ingest_fields;
    CREATE TEMP TABLE ingest_fields ON COMMIT DROP AS
    SELECT b.seq, b.kind, b.day_no, split_part(f.line, '=', 1) AS k,
           till.unescape(substr(f.line, strpos(f.line, '=') + 1)) AS v
      FROM ingest_batch b
     CROSS JOIN LATERAL string_to_table(b.text, E'\n') WITH ORDINALITY AS f(line, ord)
     WHERE b.kind IN ('day_open', 'day_close', 'card_result', 'drawer_count', 'cash_in', 'cash_out', 'terminal_eod')
       AND f.ord > 6 AND f.line <> '';
    INSERT INTO till.business_days (store, register, day_no, business_date, float_minor, opened_seq)
    SELECT r.store, r.register, f.day_no, max(f.v) FILTER (WHERE f.k = 'business_date')::date,
           max(f.v) FILTER (WHERE f.k = 'float')::bigint, f.seq
      FROM ingest_fields f WHERE f.kind = 'day_open' GROUP BY f.seq, f.day_no;

    -- A sale's canonical bytes in three parts: its own fields, then its lines (each begins
    -- `line=`), then its tenders (each `tender=`). The order of the fields is fixed: each part must
    -- have every key in its place or the shipment is refused — a form this head office does not
    -- know is never half read — and is then read by position. (`OFFSET 0` keeps each split done
    -- once a row, not once a column.)
    DROP TABLE IF EXISTS pg_temp.ingest_parts;
    CREATE TEMP TABLE ingest_parts ON COMMIT DROP AS
    SELECT b.seq, b.day_no, d.business_date, string_to_array(q.head, E'\n') AS h,
           CASE WHEN q.t = 0 THEN rtrim(q.rest, E'\n') ELSE substr(q.rest, 1, q.t - 1) END AS lines,
           CASE WHEN q.t = 0 THEN NULL ELSE rtrim(substr(q.rest, q.t + 8), E'\n') END AS tenders
      FROM ingest_batch b
     CROSS JOIN LATERAL (SELECT strpos(b.text, E'\nline=') AS at OFFSET 0) l
     CROSS JOIN LATERAL (SELECT x.head, x.rest, strpos(x.rest, E'\ntender=') AS t
                           FROM (SELECT substr(b.text, 1, l.at - 1) AS head, substr(b.text, l.at + 6) AS rest
                                 OFFSET 0) x OFFSET 0) q
      LEFT JOIN till.business_days d ON d.store = r.store AND d.register = r.register AND d.day_no = b.day_no
     WHERE b.kind IN ('sale', 'refund');
    IF EXISTS (SELECT 1 FROM ingest_parts p
                WHERE NOT (cardinality(p.h) = 20 AND p.h[1] LIKE 'v=%' AND p.h[2] LIKE 'seq=%' AND p.h[3] LIKE 'register=%'
                      AND p.h[4] LIKE 'kind=%' AND p.h[5] LIKE 'day=%' AND p.h[6] LIKE 'at=%'
                      AND p.h[7] LIKE 'receipt=%' AND p.h[8] LIKE 'sale_day=%' AND p.h[9] LIKE 'sale_kind=%'
                      AND p.h[10] LIKE 'refund_of=%' AND p.h[11] LIKE 'currency=%' AND p.h[12] LIKE 'tax_included=%'
                      AND p.h[13] LIKE 'gross=%' AND p.h[14] LIKE 'discount=%' AND p.h[15] LIKE 'tax=%'
                      AND p.h[16] LIKE 'total=%' AND p.h[17] LIKE 'rounding=%' AND p.h[18] LIKE 'cashier=%'
                      AND p.h[19] LIKE 'training=%' AND p.h[20] LIKE 'completed_at=%')) THEN
        RAISE EXCEPTION 'a sale of this shipment is not in the form this head office reads';
    END IF;

    DROP TABLE IF EXISTS pg_temp.ingest_sales;
    CREATE TEMP TABLE ingest_sales ON COMMIT DROP AS
    SELECT p.seq, p.day_no, p.business_date,
           substr(p.h[7], 9)::bigint AS receipt_no,
           till.unescape(substr(p.h[9], 11)) AS kind,
           till.opt(substr(p.h[10], 11))::bigint AS refund_of,
           till.unescape(substr(p.h[11], 10)) AS currency,
           till.unescape(substr(p.h[12], 14)) = '1' AS tax_included,
           substr(p.h[13], 7)::bigint AS gross,
           substr(p.h[14], 10)::bigint AS discount,
           substr(p.h[15], 5)::bigint AS tax,
           substr(p.h[16], 7)::bigint AS total,
           substr(p.h[17], 10)::bigint AS rounding,
           till.unescape(substr(p.h[18], 9)) AS cashier,
           till.unescape(substr(p.h[19], 10)) = '1' AS training,
           till.unescape(substr(p.h[20], 14)) AS completed_at
      FROM ingest_parts p WHERE p.business_date IS NOT NULL;
    -- Every sale must land in the tables: one whose business day is not held here is refused
    -- (the shipment rolls back and comes again), never dropped.
    IF (SELECT count(*) FROM ingest_sales) <> (SELECT count(*) FROM ingest_batch WHERE kind IN ('sale', 'refund')) THEN
        RAISE EXCEPTION 'a sale of this shipment has no business day held here';
    END IF;

    FOR month IN SELECT DISTINCT date_trunc('month', s.business_date)::date FROM ingest_sales s LOOP
        PERFORM till.ensure_month(month);
    END LOOP;

    INSERT INTO till.sales (store, register, seq, business_date, day_no, receipt_no, kind, refund_of, currency,
                            tax_included, gross, discount, tax, total, rounding, cashier, training, completed_at)
    SELECT r.store, r.register, s.seq, s.business_date, s.day_no, s.receipt_no, s.kind, s.refund_of, s.currency,
           s.tax_included, s.gross, s.discount, s.tax, s.total, s.rounding, s.cashier, s.training, s.completed_at
      FROM ingest_sales s;

    INSERT INTO till.sale_lines (store, register, seq, business_date, line_no, sku, name_zh, name_en, qty_milli,
                                 unit_price, sold_by, tax_class, tax_rate, gross, line_discount, sale_discount,
                                 amount, tax, price_overridden, refund_of_receipt, refund_of_line)
    SELECT r.store, r.register, l.seq, l.business_date, l.a[1]::bigint,
           till.unescape(substr(l.a[2], 5)), till.unescape(substr(l.a[3], 9)), till.unescape(substr(l.a[4], 9)),
           substr(l.a[5], 11)::bigint, substr(l.a[6], 12)::bigint,
           till.unescape(substr(l.a[7], 9)), till.unescape(substr(l.a[8], 11)), substr(l.a[9], 10)::numeric,
           substr(l.a[10], 7)::bigint, substr(l.a[11], 15)::bigint, substr(l.a[12], 15)::bigint,
           substr(l.a[13], 8)::bigint, substr(l.a[14], 10)::bigint, till.unescape(substr(l.a[15], 18)) = '1',
           till.opt(substr(l.a[16], 19))::bigint, till.opt(substr(l.a[17], 16))::bigint
      FROM ingest_parts p
     CROSS JOIN LATERAL string_to_table(p.lines, E'\nline=') AS c(chunk)
     CROSS JOIN LATERAL (SELECT p.seq, p.business_date, string_to_array(c.chunk, E'\n') AS a OFFSET 0) l
     -- Every line must have each key in its place; one that does not stops the shipment.
     WHERE CASE WHEN cardinality(l.a) = 17 AND l.a[2] LIKE 'sku=%' AND l.a[3] LIKE 'name_zh=%'
                 AND l.a[4] LIKE 'name_en=%' AND l.a[5] LIKE 'qty_milli=%' AND l.a[6] LIKE 'unit_price=%'
                 AND l.a[7] LIKE 'sold_by=%' AND l.a[8] LIKE 'tax_class=%' AND l.a[9] LIKE 'tax_rate=%'
                 AND l.a[10] LIKE 'gross=%' AND l.a[11] LIKE 'line_discount=%' AND l.a[12] LIKE 'sale_discount=%'
                 AND l.a[13] LIKE 'amount=%' AND l.a[14] LIKE 'line_tax=%' AND l.a[15] LIKE 'price_overridden=%'
                 AND l.a[16] LIKE 'refund_of_receipt=%' AND l.a[17] LIKE 'refund_of_line=%'
                THEN true ELSE till.refuse('a sale''s line in this shipment is not in the form this head office reads') END;

    INSERT INTO till.payments (store, register, seq, business_date, tender_no, kind, amount, given, change,
                               reference, masked_pan, card_name, card_receipt, card_trace, terminal_id, aid)
    SELECT r.store, r.register, l.seq, l.business_date, l.a[1]::bigint,
           till.unescape(substr(l.a[2], 13)), substr(l.a[3], 8)::bigint, substr(l.a[4], 7)::bigint, substr(l.a[5], 8)::bigint,
           till.opt(till.unescape(substr(l.a[6], 11))), till.opt(till.unescape(substr(l.a[7], 12))), till.opt(till.unescape(substr(l.a[8], 11))),
           till.opt(substr(l.a[9], 14))::bigint, till.opt(substr(l.a[10], 12))::bigint,
           till.opt(till.unescape(substr(l.a[11], 13))), till.opt(till.unescape(substr(l.a[12], 5)))
      FROM ingest_parts p
     CROSS JOIN LATERAL string_to_table(p.tenders, E'\ntender=') AS c(chunk)
     CROSS JOIN LATERAL (SELECT p.seq, p.business_date, string_to_array(c.chunk, E'\n') AS a OFFSET 0) l
     -- Every tender must have each key in its place; one that does not stops the shipment.
     WHERE CASE WHEN cardinality(l.a) = 12 AND l.a[2] LIKE 'tender_kind=%' AND l.a[3] LIKE 'amount=%'
                 AND l.a[4] LIKE 'given=%' AND l.a[5] LIKE 'change=%' AND l.a[6] LIKE 'reference=%'
                 AND l.a[7] LIKE 'masked_pan=%' AND l.a[8] LIKE 'card_name=%' AND l.a[9] LIKE 'card_receipt=%'
                 AND l.a[10] LIKE 'card_trace=%' AND l.a[11] LIKE 'terminal_id=%' AND l.a[12] LIKE 'aid=%'
                THEN true ELSE till.refuse('a sale''s tender in this shipment is not in the form this head office reads') END;

    INSERT INTO till.card_results (store, register, seq, day_no, intent, outcome, result_code, amount, masked_pan,
                                   card_name, card_receipt, trace, terminal_id, card_type)
    SELECT r.store, r.register, f.seq, f.day_no,
           max(f.v) FILTER (WHERE f.k = 'intent')::bigint,
           max(f.v) FILTER (WHERE f.k = 'outcome'),
           till.opt(max(f.v) FILTER (WHERE f.k = 'result_code'))::bigint,
           till.opt(max(f.v) FILTER (WHERE f.k = 'amount'))::bigint,
           till.opt(max(f.v) FILTER (WHERE f.k = 'masked_pan')),
           till.opt(max(f.v) FILTER (WHERE f.k = 'card_name')),
           till.opt(max(f.v) FILTER (WHERE f.k = 'card_receipt'))::bigint,
           till.opt(max(f.v) FILTER (WHERE f.k = 'trace'))::bigint,
           till.opt(max(f.v) FILTER (WHERE f.k = 'terminal_id')),
           max(f.v) FILTER (WHERE f.k = 'card_type')::bigint
      FROM ingest_fields f WHERE f.kind = 'card_result' GROUP BY f.seq, f.day_no;

    INSERT INTO till.drawer_counts (store, register, seq, day_no, counted, expected, blind, note)
    SELECT r.store, r.register, f.seq, f.day_no,
           max(f.v) FILTER (WHERE f.k = 'counted')::bigint,
           max(f.v) FILTER (WHERE f.k = 'expected')::bigint,
           max(f.v) FILTER (WHERE f.k = 'blind') IN ('1', 'true'),
           coalesce(max(f.v) FILTER (WHERE f.k = 'note'), '')
      FROM ingest_fields f WHERE f.kind = 'drawer_count' GROUP BY f.seq, f.day_no;

    INSERT INTO till.cash_movements (store, register, seq, day_no, direction, amount, reason, approved_by)
    SELECT r.store, r.register, f.seq, f.day_no,
           max(f.v) FILTER (WHERE f.k = 'direction'),
           max(f.v) FILTER (WHERE f.k = 'amount')::bigint,
           coalesce(max(f.v) FILTER (WHERE f.k = 'reason'), ''),
           coalesce(max(f.v) FILTER (WHERE f.k = 'approved_by'), '')
      FROM ingest_fields f WHERE f.kind IN ('cash_in', 'cash_out') GROUP BY f.seq, f.day_no;

    INSERT INTO till.terminal_eods (store, register, seq, day_no, by_card, total)
    SELECT r.store, r.register, f.seq, f.day_no, max(f.v) FILTER (WHERE f.k = 'by_card'),
           coalesce((SELECT sum(split_part(p, ':', 3)::bigint)
                       FROM string_to_table(max(f.v) FILTER (WHERE f.k = 'by_card'), ' ') AS p
                      WHERE p <> ''), 0)
      FROM ingest_fields f WHERE f.kind = 'terminal_eod' GROUP BY f.seq, f.day_no;

    INSERT INTO till.day_closes (store, register, seq, day_no, z_no, net, grand_total)
    SELECT r.store, r.register, f.seq, f.day_no,
           max(f.v) FILTER (WHERE f.k = 'z_no')::bigint,
           max(f.v) FILTER (WHERE f.k = 'net')::bigint,
           max(f.v) FILTER (WHERE f.k = 'grand_total')::bigint
      FROM ingest_fields f WHERE f.kind = 'day_close' GROUP BY f.seq, f.day_no;

    UPDATE till.registers SET head_seq = new_head, head_hash = new_hash, last_shipment_at = now()
     WHERE store = r.store AND register = r.register;
    RETURN QUERY SELECT 'ok'::text, new_head, new_hash, ''::text;
END
$$;

-- The head held for the caller's register, and whether it is flagged.
CREATE FUNCTION till.my_head()
RETURNS TABLE (store text, register text, head_seq bigint, head_hash bytea, flag_reason text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT r.store, r.register, r.head_seq, r.head_hash, r.flag_reason FROM till.registers r WHERE r.role = session_user
$$;

-- The highest receipt and Z numbers held of the caller's register: a till that restores a backup
-- numbers on above them (its own ledger may be gone with what it printed).
CREATE FUNCTION till.my_numbers()
RETURNS TABLE (receipt_no bigint, z_no bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT (SELECT coalesce(max(s.receipt_no), 0) FROM till.sales s
             WHERE s.store = r.store AND s.register = r.register),
           (SELECT coalesce(max(d.z_no), 0) FROM till.day_closes d
             WHERE d.store = r.store AND d.register = r.register)
      FROM till.registers r WHERE r.role = session_user
$$;

-- The newest version of each kind published after `after`.
CREATE FUNCTION till.versions_after(after bigint)
RETURNS TABLE (version bigint, kind text, body text, sha256 text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT DISTINCT ON (v.kind) v.version, v.kind, v.body, v.sha256
      FROM till.versions v JOIN till.registers r ON r.role = session_user
     WHERE v.version > after AND (v.store IS NULL OR v.store = r.store)
     ORDER BY v.kind, v.version DESC
$$;

-- The stores whose day the caller may see: a register its own store's (whatever it asks); anyone
-- else in the registers' group nothing; the head office's administrator the store asked for, or
-- every store.
CREATE FUNCTION till.stores_seen(of_store text) RETURNS SETOF text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT me.store FROM till.registers me WHERE me.role = session_user
    UNION
    SELECT DISTINCT r.store FROM till.registers r
     -- (Membership as granted: pg_has_role would count a superuser in.)
     WHERE NOT EXISTS (SELECT 1 FROM pg_auth_members m
                         JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
                        WHERE g.rolname = 'till_register' AND u.rolname = session_user)
       AND (of_store IS NULL OR r.store = of_store)
$$;

-- The store's day, register by register: its Z (if closed), its real sales, its card payments
-- against the terminal's end-of-day, its last drawer count's difference, its last shipment and
-- flag. Figures only, no rows: what the manager's screen of any till of the store shows.
CREATE FUNCTION till.store_day_registers(day date, of_store text DEFAULT NULL)
RETURNS TABLE (store text, register text, last_shipment_at timestamptz, flag_reason text, z_no bigint,
               z_net bigint, sales bigint, net bigint, card_ledger bigint, card_terminal bigint,
               drawer_difference bigint, card_closed bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    SELECT r.store, r.register, r.last_shipment_at, r.flag_reason,
           (SELECT max(z.z_no) FROM till.day_closes z JOIN till.business_days d USING (store, register, day_no)
             WHERE z.store = r.store AND z.register = r.register AND d.business_date = day),
           (SELECT sum(z.net)::bigint FROM till.day_closes z JOIN till.business_days d USING (store, register, day_no)
             WHERE z.store = r.store AND z.register = r.register AND d.business_date = day),
           (SELECT count(*) FROM till.sales s WHERE s.store = r.store AND s.register = r.register
               AND s.business_date = day AND NOT s.training),
           (SELECT coalesce(sum(s.total), 0)::bigint FROM till.sales s WHERE s.store = r.store
               AND s.register = r.register AND s.business_date = day AND NOT s.training),
           (SELECT coalesce(sum(p.amount), 0)::bigint FROM till.payments p JOIN till.sales s
               USING (store, register, seq, business_date)
             WHERE p.store = r.store AND p.register = r.register AND p.business_date = day
               AND p.kind = 'card' AND NOT s.training),
           (SELECT sum(e.total)::bigint FROM till.terminal_eods e JOIN till.business_days d
               USING (store, register, day_no)
             WHERE e.store = r.store AND e.register = r.register AND d.business_date = day),
           (SELECT c.counted - c.expected FROM till.drawer_counts c JOIN till.business_days d
               USING (store, register, day_no)
             WHERE c.store = r.store AND c.register = r.register AND d.business_date = day
             ORDER BY c.seq DESC LIMIT 1),
           -- The card sales of the business days the terminal's end-of-day covered: what its
           -- total must equal (a day still open has no end-of-day yet).
           (SELECT coalesce(sum(p.amount), 0)::bigint FROM till.payments p JOIN till.sales s
               USING (store, register, seq, business_date)
             WHERE p.store = r.store AND p.register = r.register AND p.business_date = day
               AND p.kind = 'card' AND NOT s.training
               AND EXISTS (SELECT 1 FROM till.terminal_eods e
                            WHERE e.store = s.store AND e.register = s.register AND e.day_no = s.day_no))
      FROM till.registers r
     WHERE r.store IN (SELECT till.stores_seen(of_store))
     ORDER BY r.store, r.register
$$;

-- The store's totals of a day (real sales): by tender, by tax rate (amount, tax) and by card.
CREATE FUNCTION till.store_day_totals(day date, of_store text DEFAULT NULL)
RETURNS TABLE (section text, label text, count bigint, amount bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    WITH mine AS (
        SELECT till.stores_seen(of_store) AS store
    ), sales AS (
        SELECT s.* FROM till.sales s JOIN mine USING (store) WHERE s.business_date = day AND NOT s.training
    )
    SELECT 'tenders', p.kind, count(*), sum(p.amount)::bigint
      FROM till.payments p JOIN sales s USING (store, register, seq, business_date)
     WHERE p.business_date = day GROUP BY p.kind
    UNION ALL
    SELECT 'taxes', l.tax_rate::text, sum(l.amount)::bigint, sum(l.tax)::bigint
      FROM till.sale_lines l JOIN sales s USING (store, register, seq, business_date)
     WHERE l.business_date = day GROUP BY l.tax_rate
    UNION ALL
    SELECT 'cards', coalesce(p.card_name, '?'), count(*), sum(p.amount)::bigint
      FROM till.payments p JOIN sales s USING (store, register, seq, business_date)
     WHERE p.business_date = day AND p.kind = 'card' GROUP BY p.card_name
    UNION ALL
    SELECT 'currency', min(s.currency), NULL, NULL FROM sales s HAVING count(*) > 0
     ORDER BY 1, 2
$$;

-- lz4 for the bytes a shipment keeps (its temporary tables and the journal), where the server
-- has it: pglz compressing them took a third of a shipment's time.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)) THEN
        ALTER FUNCTION till.ingest(bigint[], bytea[], bytea[], bytea[]) SET default_toast_compression = 'lz4';
        ALTER TABLE till.journal ALTER COLUMN canonical SET COMPRESSION lz4;
    END IF;
END
$$;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA till FROM PUBLIC;
GRANT EXECUTE ON FUNCTION till.ingest(bigint[], bytea[], bytea[], bytea[]) TO till_register;
GRANT EXECUTE ON FUNCTION till.my_head() TO till_register;
GRANT EXECUTE ON FUNCTION till.my_numbers() TO till_register;
GRANT EXECUTE ON FUNCTION till.versions_after(bigint) TO till_register;
GRANT EXECUTE ON FUNCTION till.store_day_registers(date, text) TO till_register;
GRANT EXECUTE ON FUNCTION till.store_day_totals(date, text) TO till_register;
