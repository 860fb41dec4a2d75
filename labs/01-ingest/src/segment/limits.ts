/** Segment's documented request limits (HTTP Tracking API), in bytes of JSON: KB = 1024 bytes, as its SDKs count. */
export const SEGMENT_MESSAGE_MAX_BYTES = 32 * 1024;
export const SEGMENT_REQUEST_MAX_BYTES = 500 * 1024;
