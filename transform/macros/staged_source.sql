{#
  staged_source: one loaded stream as a staging select with fixed column names and types.

  target-duckdb lowercases the API's names (commandid) while target-postgres keeps them
  quoted as sent (CommandId), so columns are found by their lowercased name in the
  warehouse's own catalog. A column the warehouse lacks (a field dropped by a stream map,
  AccountId before the tap sends it) is a typed null; a stream not loaded at all (not
  selected) gives an empty select with the same columns.

  columns: [source name, staging name, kind]; kind is text, bigint, boolean, timestamp
  (UTC, without time zone) or json.
#}
{% macro staged_source(table, columns) %}
{%- set src = source('cloudcommands', table) -%}
{%- set found = {} -%}
{%- if execute -%}
  {%- set relation = adapter.get_relation(
      database=src.database, schema=src.schema, identifier=src.identifier) -%}
  {%- if relation is not none -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
      {%- do found.update({column.name | lower: column}) -%}
    {%- endfor -%}
  {%- endif -%}
{%- endif %}
select
{%- for source_name, name, kind in columns %}
    {% set column = found.get(source_name | lower) -%}
    {%- if column is none -%}
    cast(null as {{ staged_type(kind) }})
    {%- else -%}
    {{ staged_value(adapter.quote(column.name), kind, column.data_type) }}
    {%- endif %} as {{ name }}{{ "," if not loop.last }}
{%- endfor %}
{% if found %}from {{ src }}{% else %}where 1 = 0{% endif %}
{% endmacro %}

{% macro staged_type(kind) -%}
  {%- if kind == 'text' -%}{{ dbt.type_string() }}
  {%- elif kind == 'bigint' -%}{{ dbt.type_bigint() }}
  {%- elif kind == 'boolean' -%}boolean
  {%- elif kind == 'timestamp' -%}{{ dbt.type_timestamp() }}
  {%- elif kind == 'json' -%}{{ json_type() }}
  {%- else -%}{{ exceptions.raise_compiler_error("unknown column kind " ~ kind) }}
  {%- endif -%}
{%- endmacro %}

{% macro staged_value(column, kind, data_type) -%}
  {%- if kind == 'json' -%}{{ to_json(column) }}
  {%- elif kind == 'timestamp' and 'with time zone' in (data_type | lower) -%}
    ({{ column }} at time zone 'UTC')
  {%- elif kind == 'timestamp' and (data_type | lower) == 'timestamptz' -%}
    ({{ column }} at time zone 'UTC')
  {%- else -%}cast({{ column }} as {{ staged_type(kind) }})
  {%- endif -%}
{%- endmacro %}
