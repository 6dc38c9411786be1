{#
  The few JSON and text operations the models need, written once per warehouse:
  PostgreSQL (jsonb) and DuckDB (its json type). Everything else in the models is
  plain SQL both understand.
#}

{% macro json_type() %}{{ return(adapter.dispatch('json_type')()) }}{% endmacro %}
{% macro default__json_type() %}jsonb{% endmacro %}
{% macro duckdb__json_type() %}json{% endmacro %}

{# A loaded nested value as JSON: jsonb, jsonb[] or text[] in PostgreSQL; JSON text in DuckDB. #}
{% macro to_json(column) %}{{ return(adapter.dispatch('to_json')(column)) }}{% endmacro %}
{% macro default__to_json(column) %}to_jsonb({{ column }}){% endmacro %}
{% macro duckdb__to_json(column) %}cast({{ column }} as json){% endmacro %}

{# A member of a JSON object as text (null when absent). #}
{% macro json_text(value, key) %}{{ return(adapter.dispatch('json_text')(value, key)) }}{% endmacro %}
{% macro default__json_text(value, key) %}({{ value }} ->> '{{ key }}'){% endmacro %}
{% macro duckdb__json_text(value, key) %}json_extract_string({{ value }}, '$.{{ key }}'){% endmacro %}

{# An RFC 3339 text timestamp as a UTC timestamp without time zone. #}
{% macro text_to_utc(value) %}
(cast({{ value }} as {{ 'timestamptz' }}) at time zone 'UTC')
{% endmacro %}

{# The strings of a JSON array member, one per line (null when it is not an array). #}
{% macro json_lines(value, key) %}{{ return(adapter.dispatch('json_lines')(value, key)) }}{% endmacro %}
{% macro default__json_lines(value, key) -%}
(
    select string_agg(line, E'\n' order by position)
    from jsonb_array_elements_text(
        case when jsonb_typeof({{ value }} -> '{{ key }}') = 'array' then {{ value }} -> '{{ key }}' end
    ) with ordinality as script (line, position)
)
{%- endmacro %}
{% macro duckdb__json_lines(value, key) -%}
case
    when json_type({{ value }}, '$.{{ key }}') = 'ARRAY'
        then array_to_string(
            from_json(json_extract({{ value }}, '$.{{ key }}'), '["varchar"]'), chr(10)
        )
end
{%- endmacro %}

{#
  Base64 text decoded as UTF-8, null when it is not base64 or not valid UTF-8 (TAT sends
  command text as base64 and scripts may be binary). Neither warehouse has a decode that
  returns null instead of failing, so the bytes are checked first: base64 alphabet and
  length, then well-formed UTF-8 over their hex form.
#}

{% macro base64_utf8(value) %}{{ return(adapter.dispatch('base64_utf8')(value)) }}{% endmacro %}
{% macro default__base64_utf8(value) -%}
case
    when {{ value }} ~ '^[A-Za-z0-9+/]*={0,2}$' and length({{ value }}) % 4 = 0
        then case
            when upper(encode(decode({{ value }}, 'base64'), 'hex')) ~ '{{ utf8_hex() }}'
                then convert_from(decode({{ value }}, 'base64'), 'UTF8')
        end
end
{%- endmacro %}
{% macro duckdb__base64_utf8(value) -%}
case
    when regexp_full_match({{ value }}, '[A-Za-z0-9+/]*={0,2}') and length({{ value }}) % 4 = 0
        then case
            when regexp_full_match(hex(from_base64({{ value }})), '{{ utf8_hex() }}')
                then decode(from_base64({{ value }}))
        end
end
{%- endmacro %}

{% macro utf8_hex() -%}
^([0-7][0-9A-F]|(C[2-9A-F]|D[0-9A-F])[89AB][0-9A-F]|E0[AB][0-9A-F][89AB][0-9A-F]|E[1-9A-CEF][89AB][0-9A-F][89AB][0-9A-F]|ED[89][0-9A-F][89AB][0-9A-F]|F0[9AB][0-9A-F][89AB][0-9A-F][89AB][0-9A-F]|F[1-3][89AB][0-9A-F][89AB][0-9A-F][89AB][0-9A-F]|F48[0-9A-F][89AB][0-9A-F][89AB][0-9A-F])*$
{%- endmacro %}

{#
  One row per element of a JSON array column: the rows of `relation` joined with
  (position starting at 1, value). Rows whose column is not an array give no row.
#}
{% macro json_array_rows(relation, column) %}{{ return(adapter.dispatch('json_array_rows')(relation, column)) }}{% endmacro %}
{% macro default__json_array_rows(relation, column) -%}
select source_row.*, element.position, element.value
from {{ relation }} as source_row
cross join lateral jsonb_array_elements(
    case when jsonb_typeof(source_row.{{ column }}) = 'array' then source_row.{{ column }} end
) with ordinality as element (value, position)
{%- endmacro %}
{% macro duckdb__json_array_rows(relation, column) -%}
{#- DuckDB 1.2 has no WITH ORDINALITY: positions are generated, elements picked by index. -#}
select
    source_row.*,
    element.position,
    json_extract(source_row.{{ column }}, cast(element.position - 1 as integer)) as value
from {{ relation }} as source_row,
    lateral (
        select unnest(generate_series(1, cast(json_array_length(source_row.{{ column }}) as bigint)))
            as position
    ) as element
where json_type(source_row.{{ column }}) = 'ARRAY'
{%- endmacro %}
