-- One row per TAT run on one instance (DescribeInvocationTasks), per region.
{{ staged_source('tat_invocation_tasks', [
    ['AccountId', 'account_id', 'text'],
    ['Region', 'region', 'text'],
    ['InvocationTaskId', 'invocation_task_id', 'text'],
    ['InvocationId', 'invocation_id', 'text'],
    ['CommandId', 'command_id', 'text'],
    ['CommandName', 'command_name', 'text'],
    ['InstanceId', 'instance_id', 'text'],
    ['TaskStatus', 'status', 'text'],
    ['CreatedTime', 'created_at', 'timestamp'],
    ['StartTime', 'start_time', 'timestamp'],
    ['EndTime', 'end_time', 'timestamp'],
    ['TaskResult', 'task_result', 'json'],
    ['CommandDocument', 'command_document', 'json'],
]) }}
