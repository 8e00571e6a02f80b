/**
 * A typed Docker Engine API client over berthd's unix socket, always speaking /v1.51/.
 * JSON calls resolve with docker's shapes or reject with ApiError; streaming calls hand back
 * the body; attach returns the hijacked socket. Each resource's calls live in their own file
 * (container-calls.ts, image-calls.ts, ...), layered on one ApiConnection.
 */
import { ApiConnection } from './api-connection.js';
import { withContainerCalls } from './container-calls.js';
import { withExecCalls } from './exec-calls.js';
import { withImageCalls } from './image-calls.js';
import { withNetworkCalls } from './network-calls.js';
import { withSystemCalls } from './system-calls.js';
import { withVolumeCalls } from './volume-calls.js';

export { CLIENT_API_VERSION, encodeFilters, encodeQuery, type AttachConnection, type EngineClientOptions, type Filters, type Query, type RawResponse, type RequestOptions } from './api-connection.js';
export { decodePathStat, type PendingWait } from './container-calls.js';
export type { RegistryLoginResponse } from './image-calls.js';
export type { SystemDataUsageResponse } from './system-calls.js';

/** The Engine API client. Call close() when done so the process can exit. */
export class EngineClient extends withSystemCalls(withNetworkCalls(withVolumeCalls(withImageCalls(withExecCalls(withContainerCalls(ApiConnection)))))) {}
