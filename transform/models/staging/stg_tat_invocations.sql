-- One row per TAT run of a command (DescribeInvocations), per region.
{{ staged_source('tat_invocations', [
    ['AccountId', 'account_id', 'text'],
    ['Region', 'region', 'text'],
    ['InvocationId', 'invocation_id', 'text'],
    ['CommandId', 'command_id', 'text'],
    ['CommandName', 'command_name', 'text'],
    ['CommandContent', 'command_content', 'text'],
    ['InvocationStatus', 'status', 'text'],
    ['InvocationSource', 'invocation_source', 'text'],
    ['CreatedTime', 'created_at', 'timestamp'],
    ['UpdatedTime', 'updated_at', 'timestamp'],
]) }}
