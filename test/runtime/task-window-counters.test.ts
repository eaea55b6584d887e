import { expect, it } from 'vitest'
import { TaskWindowCounters } from '../../runtime/task-window-counters.js'

it("counts a task's late records and adds each one to the replica's", () => {
  const replica = { lateRecords: 5 }
  const first = new TaskWindowCounters(replica)
  const second = new TaskWindowCounters(replica)
  first.lateRecords++
  first.lateRecords++
  second.lateRecords++
  expect([first.lateRecords, second.lateRecords, replica.lateRecords]).toEqual([2, 1, 8])
})
