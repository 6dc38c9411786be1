-- One row per plugin (step) of an SSM invocation, in the order SSM lists them.
with plugins as (
    {{ json_array_rows(ref('stg_ssm_command_invocations'), 'command_plugins') }}
)

select
    account_id,
    region,
    command_id,
    instance_id,
    cast(position as {{ dbt.type_bigint() }}) as position,
    {{ json_text('value', 'Name') }} as plugin_name,
    {{ json_text('value', 'Status') }} as status,
    cast({{ json_text('value', 'ResponseCode') }} as {{ dbt.type_bigint() }}) as response_code,
    {{ text_to_utc(json_text('value', 'ResponseStartDateTime')) }} as started_at,
    {{ text_to_utc(json_text('value', 'ResponseFinishDateTime')) }} as finished_at
from plugins
