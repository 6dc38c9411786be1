-- One row per SSM command (ListCommands), per region.
{{ staged_source('ssm_commands', [
    ['AccountId', 'account_id', 'text'],
    ['Region', 'region', 'text'],
    ['CommandId', 'command_id', 'text'],
    ['DocumentName', 'document_name', 'text'],
    ['Comment', 'comment', 'text'],
    ['Status', 'status', 'text'],
    ['RequestedDateTime', 'requested_at', 'timestamp'],
    ['Parameters', 'parameters', 'json'],
    ['TargetCount', 'target_count', 'bigint'],
    ['ErrorCount', 'error_count', 'bigint'],
]) }}
