import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One Kafka broker for the whole run (or $KAFKA_BROKERS).
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    // Two cores: integration files share one broker and should not fight over it.
    fileParallelism: false,
    reporters: ['default'],
  },
})
