import { AclOperations, AclPermissionTypes, Admin, ResourcePatternTypes, ResourceTypes } from '@platformatic/kafka'

type Operation = keyof typeof AclOperations
type Resource = 'TOPIC' | 'GROUP' | 'TRANSACTIONAL_ID'

/** One ALLOW rule: a principal may do an operation on a resource (a name, or every name with a prefix). */
export interface Grant {
  resource: Resource
  name: string
  prefixed?: boolean
  operation: Operation
}

/**
 * What a kubestream application needs, as Kafka Streams' security guide lists it: read its input
 * topics, write its outputs (and create them, which kubestream does at start), everything on
 * its own prefixed internal topics, group and transactional ids.
 */
export function applicationGrants(app: { id: string; inputs: string[]; outputs: string[] }): Grant[] {
  return [
    ...app.inputs.flatMap((name) =>
      (['READ', 'DESCRIBE'] as const).map((operation) => ({ resource: 'TOPIC' as const, name, operation })),
    ),
    ...app.outputs.flatMap((name) =>
      (['WRITE', 'DESCRIBE', 'CREATE'] as const).map((operation) => ({ resource: 'TOPIC' as const, name, operation })),
    ),
    { resource: 'TOPIC', name: `${app.id}-`, prefixed: true, operation: 'ALL' },
    { resource: 'GROUP', name: app.id, prefixed: true, operation: 'READ' },
    { resource: 'TRANSACTIONAL_ID', name: app.id, prefixed: true, operation: 'WRITE' },
    { resource: 'TRANSACTIONAL_ID', name: app.id, prefixed: true, operation: 'DESCRIBE' },
  ]
}

/** Creates or deletes ACLs through a super user's connection (the test broker's PLAINTEXT listener). */
export class AclAdmin {
  private readonly admin: Admin

  constructor(brokers: string) {
    this.admin = new Admin({ clientId: 'kubestream-tests-acls', bootstrapBrokers: brokers.split(','), timeout: 30_000 })
  }

  allow(principal: string, grants: Grant[]): Promise<void> {
    return this.admin.createAcls({ creations: grants.map((grant) => acl(principal, grant)) })
  }

  async revoke(principal: string, grants: Grant[]): Promise<void> {
    await this.admin.deleteAcls({ filters: grants.map((grant) => acl(principal, grant)) })
  }

  close(): Promise<void> {
    return this.admin.close()
  }
}

function acl(principal: string, grant: Grant) {
  return {
    resourceType: ResourceTypes[grant.resource],
    resourceName: grant.name,
    resourcePatternType: grant.prefixed ? ResourcePatternTypes.PREFIXED : ResourcePatternTypes.LITERAL,
    principal,
    host: '*',
    operation: AclOperations[grant.operation],
    permissionType: AclPermissionTypes.ALLOW,
  }
}
