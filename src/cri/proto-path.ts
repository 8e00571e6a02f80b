/**
 * Where the CRI's proto file is and how it is loaded; shared by the server and by clients (the
 * tests), without loading gRPC itself.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The proto file, beside this module in src/ and in dist/ (scripts/build copies it). */
export const CRI_PROTO_PATH = join(dirname(fileURLToPath(import.meta.url)), 'runtime-v1.proto');

/** How messages are handed over: field names as in the proto, enums by name, int64 as strings, defaults filled in. */
export const PROTO_LOADER_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true } as const;
