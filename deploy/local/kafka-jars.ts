import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { kafkaVersion, loggingBackend, SCALA_VERSION } from './kafka-version.js'

const run = promisify(execFile)

/** Where the broker's jars live: outside the repo, shared by every checkout and every run. */
export function kafkaCacheDir(version = kafkaVersion()): string {
  const base = process.env.KUBESTREAM_CACHE_DIR ?? join(homedir(), '.cache', 'kubestream')
  return join(base, `kafka_${SCALA_VERSION}-${version}`)
}

/**
 * Resolves the broker's runtime classpath with Maven into the cache, once.
 * A marker file written last makes the second run free and an interrupted first run retry.
 */
export async function ensureKafkaJars(version = kafkaVersion()): Promise<string> {
  const dir = kafkaCacheDir(version)
  const libs = join(dir, 'libs')
  const marker = join(dir, '.resolved')
  if (existsSync(marker)) return libs
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'pom.xml'), brokerPom(version))
  await run(
    'mvn',
    [
      '-q',
      '-B',
      '-f',
      join(dir, 'pom.xml'),
      'dependency:copy-dependencies',
      `-DoutputDirectory=${libs}`,
      '-DincludeScope=runtime',
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  ).catch((error: Error & { stdout?: string; stderr?: string }) => {
    throw new Error(
      `Maven could not resolve Kafka ${version}: ${error.message}\n${error.stdout ?? ''}${error.stderr ?? ''}`,
    )
  })
  if (!readdirSync(libs).some((f) => f.startsWith(`kafka_${SCALA_VERSION}-`))) {
    throw new Error(`Maven finished but ${libs} holds no kafka_${SCALA_VERSION} jar`)
  }
  writeFileSync(marker, new Date().toISOString())
  return libs
}

function brokerPom(version: string): string {
  const [group, artifact, backendVersion] = loggingBackend(version).split(':')
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.kubestream.local</groupId>
  <artifactId>kafka-broker-classpath</artifactId>
  <version>${version}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_${SCALA_VERSION}</artifactId>
      <version>${version}</version>
    </dependency>
    <dependency>
      <groupId>${group}</groupId>
      <artifactId>${artifact}</artifactId>
      <version>${backendVersion}</version>
    </dependency>
  </dependencies>
</project>
`
}
