/** Jest: @swc/jest transpiles TypeScript (type checking is `npm run typecheck`). */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.tsx?$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  setupFiles: ['<rootDir>/test/setupEnv.js'],
  // Every process a test starts is tagged; a leftover one fails the run (test/helpers/processes.ts).
  globalSetup: '<rootDir>/test/globalSetup.ts',
  globalTeardown: '<rootDir>/test/globalTeardown.ts',
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/.cache/'],
  // Servers, databases and real clients: generous but bounded.
  testTimeout: 120000,
  maxWorkers: 2,
};
