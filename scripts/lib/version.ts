/** Tool name and version stamped into object metadata (`x-amz-meta-tool-version`) and User-Agent. */
const pkg = require('../../package.json') as { version: string };

export const TOOL_NAME = 'infrafabric-backup';
export const TOOL_VERSION: string = pkg.version;
