-- One row per SSM command and managed node (ListCommandInvocations). command_plugins is
-- filled only with the tap's ssm_invocation_details on.
{{ staged_source('ssm_command_invocations', [
    ['AccountId', 'account_id', 'text'],
    ['Region', 'region', 'text'],
    ['CommandId', 'command_id', 'text'],
    ['InstanceId', 'instance_id', 'text'],
    ['InstanceName', 'instance_name', 'text'],
    ['DocumentName', 'document_name', 'text'],
    ['Status', 'status', 'text'],
    ['StatusDetails', 'status_details', 'text'],
    ['RequestedDateTime', 'requested_at', 'timestamp'],
    ['CommandPlugins', 'command_plugins', 'json'],
]) }}
