-- One row per CloudTrail SendCommand event (who asked SSM to run a command).
{{ staged_source('aws_send_command_events', [
    ['AccountId', 'account_id', 'text'],
    ['Region', 'region', 'text'],
    ['EventId', 'event_id', 'text'],
    ['EventTime', 'event_time', 'timestamp'],
    ['EventName', 'event_name', 'text'],
    ['CommandId', 'command_id', 'text'],
    ['RequestedBy', 'requested_by', 'text'],
    ['SourceIPAddress', 'source_ip', 'text'],
    ['UserAgent', 'user_agent', 'text'],
    ['ErrorCode', 'error_code', 'text'],
]) }}
