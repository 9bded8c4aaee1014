// Jest setup (every test file): keep the AWS SDK's Node-version notice out of test output.
// Node 20 is this project's supported floor (package.json engines); the notice is about SDK
// releases after January 2027 and says nothing about the code under test.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
