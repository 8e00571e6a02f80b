// The `berth` command line: docker's commands, flags, tables, templates and exit codes over the API client.
// Imports client/, api/wire/ (types) and common/.
export * from './main.js';
export * from './exit.js';
export * from './human.js';
export * from './template.js';
export * from './table.js';
export * from './output.js';
export * from './run-options.js';
export * from './container-fields.js';
export * from './context.js';
