-- One row per saved TAT command (DescribeCommands), per region.
{{ staged_source('tat_commands', [
    ['AccountId', 'account_id', 'text'],
    ['Region', 'region', 'text'],
    ['CommandId', 'command_id', 'text'],
    ['CommandName', 'command_name', 'text'],
    ['CommandType', 'command_type', 'text'],
    ['CreatedBy', 'created_by', 'text'],
    ['CreatedTime', 'created_at', 'timestamp'],
    ['UpdatedTime', 'updated_at', 'timestamp'],
]) }}
