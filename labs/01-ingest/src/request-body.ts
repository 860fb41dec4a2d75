import { Transform, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ApiError } from './errors.js';

/** What the body stream learnt about the bytes it passed on. */
export interface BodyFacts {
  /** Some bytes were not UTF-8; JSON parsing turned them into U+FFFD. */
  invalidUtf8: boolean;
}

/**
 * The stream Fastify's JSON parser reads, for a preParsing hook: the request body, gunzipped when
 * `Content-Encoding: gzip`, with its UTF-8 checked on the way. Fastify counts the bytes this stream
 * emits against the route's bodyLimit, so a gzip bomb is cut off (413) after bodyLimit
 * decompressed bytes: gunzip is pulled chunk by chunk and stops when the parser stops reading.
 */
export function decodedBody(raw: Readable, contentEncoding: string | undefined, facts: BodyFacts): Readable & { receivedEncodedLength: number } {
  const encoding = (contentEncoding ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip') {
    throw new ApiError('unsupported_content_encoding', `Content-Encoding ${JSON.stringify(contentEncoding)} is not supported; send gzip or no encoding`);
  }
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const checkUtf8 = (chunk?: Buffer) => {
    if (facts.invalidUtf8) return;
    try {
      utf8.decode(chunk, { stream: chunk !== undefined });
    } catch {
      facts.invalidUtf8 = true;
    }
  };
  const checked = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      checkUtf8(chunk);
      callback(null, chunk);
    },
    flush(callback) {
      checkUtf8();
      callback();
    },
  }) as Transform & { receivedEncodedLength: number };
  // Fastify compares this with Content-Length: the bytes that came over the wire, compressed or not.
  checked.receivedEncodedLength = 0;
  const counted = raw.pipe(new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      checked.receivedEncodedLength += chunk.length;
      callback(null, chunk);
    },
  }));

  // pipe() does not pass errors on: a client that goes away must end the parser's read too.
  // (Not pipeline(): it would destroy the request on a gzip error, before the 400 is sent.)
  raw.on('error', (error) => checked.destroy(error));
  raw.on('aborted', () => checked.destroy(new ApiError('invalid_request', 'the client closed the request before its body ended')));

  if (encoding === 'identity') return counted.pipe(checked);
  const gunzip = createGunzip();
  gunzip.on('error', (error) => checked.destroy(new ApiError('invalid_request', `request body is not valid gzip: ${error.message}`)));
  // A body cut off at the limit: stop inflating what nobody will read.
  checked.on('close', () => { counted.unpipe(gunzip); gunzip.destroy(); });
  return counted.pipe(gunzip).pipe(checked);
}
