import { describe, expect, it } from 'vitest'
import { KafkaError } from '../../connectors/kafka/kafka-error.js'
import { KubernetesError } from '../../connectors/kubernetes/kubernetes-error.js'
import { KubestreamError, taskMigrated } from '../../core/kubestream-error.js'
import { RecordError } from '../../core/record-error.js'
import { StateError } from '../../state/state-error.js'
import { TopologyError } from '../../topology/errors.js'

describe('KubestreamError', () => {
  it('is the base of every error a layer raises, named after its class, with its code and message', () => {
    const errors = [
      new RecordError('DESERIALIZATION', 'value is not JSON'),
      new TopologyError('SCHEMA', 'bad', { file: 't.yaml', line: 3, column: 7 }),
      new KafkaError('DELIVERY', 'delivery to out failed', { cause: new Error('broker') }),
      new StateError('TASK_LOCKED', 'locked'),
      new KubernetesError('GONE', 'too old', 410),
    ]
    for (const error of errors) expect(error).toBeInstanceOf(KubestreamError)
    expect(errors.map((error) => error.name)).toEqual([
      'RecordError',
      'TopologyError',
      'KafkaError',
      'StateError',
      'KubernetesError',
    ])
    expect(errors[1].message).toBe('t.yaml:3:7: bad')
    expect(errors[2].cause).toBeInstanceOf(Error)
  })

  it('names the recovery each code calls for', () => {
    expect(new RecordError('EXPRESSION', 'x').recovery).toBe('dead-letter')
    expect(new TopologyError('CYCLE', 'x').recovery).toBe('stop')
    expect(new KafkaError('CONNECT', 'x').recovery).toBe('retry')
    expect(new KafkaError('COMMIT', 'x').recovery).toBe('restart-task')
    expect(new KafkaError('TRANSACTION', 'x').recovery).toBe('stop')
    expect(new StateError('RESTORE', 'x').recovery).toBe('retry')
    expect(new KubernetesError('UNREACHABLE', 'x').recovery).toBe('retry')
    expect(new KubernetesError('CONFIG', 'x').recovery).toBe('stop')
  })

  it('says a task migrated only for errors whose recovery restarts the task', () => {
    expect(
      taskMigrated(new KafkaError('COMMIT', 'commit failed: Broker: Specified group generation id is not valid')),
    ).toBe(true)
    expect(taskMigrated(new KafkaError('DELIVERY', 'x'))).toBe(false)
    expect(taskMigrated(new Error('COMMIT'))).toBe(false)
  })
})
