"""What PostgreSQL itself says a schema holds, with the schema's own name taken out, so that two schemas
can be compared: tables, columns, constraints, indexes, sequences and what owns them, triggers,
functions, views and the applied migrations."""

from __future__ import annotations

import re

from django.db import connection

QUERIES = {
    "relations": """
        SELECT c.relname, c.relkind, c.relpersistence, coalesce(c.reloptions, '{}')::text
        FROM pg_class c WHERE c.relnamespace = %(ns)s AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'i')
    """,
    "columns": """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid), a.attidentity, a.attgenerated, coalesce(co.collname, ''),
               rank() OVER (PARTITION BY a.attrelid ORDER BY a.attnum)  -- the order, not the number
        FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 100
        WHERE c.relnamespace = %(ns)s AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0
          AND NOT a.attisdropped  -- a dropped column keeps its number in a migrated table
    """,
    "constraints": """
        SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid), k.condeferrable,
               k.condeferred, k.convalidated
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid WHERE k.connamespace = %(ns)s
    """,
    "indexes": """
        SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        WHERE i.relnamespace = %(ns)s
    """,
    "sequences": """
        SELECT c.relname, format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
               s.seqcycle, coalesce(t.relname || '.' || a.attname, ''), coalesce(d.deptype, '')
        FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
        LEFT JOIN pg_depend d ON d.objid = c.oid AND d.classid = 'pg_class'::regclass
             AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
        LEFT JOIN pg_class t ON t.oid = d.refobjid
        LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
        WHERE c.relnamespace = %(ns)s
    """,
    "triggers": """
        SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = %(ns)s AND NOT t.tgisinternal
    """,
    "functions": """
        SELECT p.proname, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid)
        FROM pg_proc p WHERE p.pronamespace = %(ns)s
    """,
    "views": """
        SELECT c.relname, pg_get_viewdef(c.oid) FROM pg_class c
        WHERE c.relnamespace = %(ns)s AND c.relkind IN ('v', 'm')
    """,
}


def catalog(schema: str) -> dict[str, list[tuple]]:
    """Every fact above, sorted, with ``schema`` written as ``<schema>`` wherever it appears."""
    name = re.compile(rf'(?<![\w$])"?{re.escape(schema)}"?(?=\.)')
    facts: dict[str, list[tuple]] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [schema])
        row = cursor.fetchone()
        assert row, f"no schema {schema}"
        for kind, sql in QUERIES.items():
            cursor.execute(sql, {"ns": row[0]})
            facts[kind] = sorted(
                tuple(name.sub("<schema>", v) if isinstance(v, str) else v for v in fact)
                for fact in cursor.fetchall()
            )
        cursor.execute(f'SELECT app, name FROM "{schema}".django_migrations')  # noqa: S608 - test names
        facts["migrations"] = sorted(cursor.fetchall())
    return facts


def rows(schema: str) -> dict[str, list[str]]:
    """Each non-empty table's rows as JSON, without the columns that hold a time (set when written)."""
    result = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, coalesce(array_agg(a.attname::text) FILTER (WHERE a.atttypid IN "
            "('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype)), '{}') "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
            "WHERE n.nspname = %s AND c.relkind = 'r' GROUP BY c.relname",
            [schema],
        )
        for table, times in cursor.fetchall():
            cursor.execute(
                f'SELECT (to_jsonb(t) - %s::text[])::text FROM "{schema}"."{table}" t',  # noqa: S608
                [list(times)],
            )
            found = sorted(r[0] for r in cursor.fetchall())
            if found:
                result[table] = found
    return result


def differences(a: dict, b: dict) -> dict[str, tuple[list, list]]:
    """Per kind, the facts only in ``a`` and only in ``b``."""
    out = {}
    for kind in sorted(set(a) | set(b)):
        left, right = set(a.get(kind, [])), set(b.get(kind, []))
        if left != right:
            out[kind] = (sorted(left - right)[:5], sorted(right - left)[:5])
    return out
