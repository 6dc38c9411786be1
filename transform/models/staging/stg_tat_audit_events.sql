-- One row per CloudAudit event on TAT (RunCommand, InvokeCommand: who started a run).
{{ staged_source('tat_audit_events', [
    ['AccountId', 'account_id', 'text'],
    ['Region', 'region', 'text'],
    ['EventId', 'event_id', 'text'],
    ['EventTime', 'event_time', 'timestamp'],
    ['EventName', 'event_name', 'text'],
    ['InvocationId', 'invocation_id', 'text'],
    ['RequestedBy', 'requested_by', 'text'],
    ['SourceIPAddress', 'source_ip', 'text'],
    ['UserAgent', 'user_agent', 'text'],
    ['ErrorCode', 'error_code', 'text'],
]) }}
