import { isUtf8 } from 'node:buffer';
import { Transform, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';
import { inexactNumbers, mayHoldInexactNumbers, type InexactNumber } from './exact-numbers.js';
import { duplicateKeys, mayHoldDuplicateKeys, type DuplicateKey } from './duplicate-keys.js';

/** What the body parser learnt about the bytes it parsed (recorded only when there is something to say). */
export interface BodyFacts {
  /** Some bytes were not UTF-8; JSON parsing turned them into U+FFFD. */
  invalidUtf8: boolean;
  /** Numbers JSON.parse did not keep as written (exact-numbers.ts), by path from the top of the body. */
  inexactNumbers?: InexactNumber[];
  /** Keys written twice in one object (duplicate-keys.ts), which JSON.parse resolved by keeping the last. */
  duplicateKeys?: DuplicateKey[];
}

/**
 * The stream Fastify's body parser reads, for a preParsing hook. A plain body is Fastify's own
 * request stream, untouched: most requests need no stream of ours, and two Transforms per request
 * were a measurable share of a replica's CPU (docs/benchmarks.md, "Where the two cores go").
 * With `Content-Encoding: gzip` it is the gunzipped body. Fastify counts the bytes this stream emits
 * against the route's bodyLimit, so a gzip bomb is cut off (413) after bodyLimit decompressed bytes:
 * gunzip is pulled chunk by chunk and stops when the parser stops reading.
 */
export function decodedBody(raw: Readable, contentEncoding: string | undefined): Readable {
  const encoding = (contentEncoding ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity') return raw;
  if (encoding !== 'gzip') {
    throw new ApiError('unsupported_content_encoding', `Content-Encoding ${JSON.stringify(contentEncoding)} is not supported; send gzip or no encoding`);
  }
  // What the parser reads: the inflated bytes, and errors as the client's 400s.
  const inflated = Object.assign(new Transform({ transform: (chunk, _encoding, callback) => callback(null, chunk) }), { receivedEncodedLength: 0 });
  // Fastify compares receivedEncodedLength with Content-Length: the bytes that came over the wire, compressed.
  const counted = raw.pipe(new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      inflated.receivedEncodedLength += chunk.length;
      callback(null, chunk);
    },
  }));
  // pipe() does not pass errors on: a client that goes away must end the parser's read too.
  // (Not pipeline(): it would destroy the request on a gzip error, before the 400 is sent.)
  raw.on('error', (error) => inflated.destroy(error));
  raw.on('aborted', () => inflated.destroy(new ApiError('invalid_request', 'the client closed the request before its body ended')));
  const gunzip = createGunzip();
  gunzip.on('error', (error) => inflated.destroy(new ApiError('invalid_request', `request body is not valid gzip: ${error.message}`)));
  // A body cut off at the limit: stop inflating what nobody will read.
  inflated.on('close', () => { counted.unpipe(gunzip); gunzip.destroy(); });
  return counted.pipe(gunzip).pipe(inflated);
}

/**
 * JSON bodies are read as bytes, checked for UTF-8 in one native call (`buffer.isUtf8`), then parsed
 * by Fastify's own JSON parser (same errors, same prototype-poisoning refusals). Invalid bytes
 * become U+FFFD as before; `facts` records that, so the route can name the fields. Numbers a double
 * cannot hold as written are recorded too (exact-numbers.ts), and keys written twice in one object
 * (duplicate-keys.ts); the text is walked only when a cheap test says one may be there. A declared
 * charset other than UTF-8 is refused (415): the bytes
 * would be read as UTF-8 anyway, and text the client meant as Latin-1 stored as other characters.
 */
export function registerJsonParser(app: FastifyInstance, facts: WeakMap<object, BodyFacts>): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request: FastifyRequest, body: Buffer, done) => {
    const contentType = request.headers['content-type'];
    // 'application/json' is 16 characters: only a longer header has parameters to look at.
    if (contentType !== undefined && contentType.length > 16) {
      const charset = declaredCharset(contentType);
      if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
        return done(new ApiError('unsupported_media_type', `charset ${JSON.stringify(charset)} is not supported: JSON is read as UTF-8 (RFC 8259); send UTF-8, with charset=utf-8 or no charset`), undefined);
      }
    }
    if (!isUtf8(body)) facts.set(request, { invalidUtf8: true });
    const text = body.toString('utf8');
    parseJson(request, text, (error, value) => {
      if (!error) {
        const inexact = mayHoldInexactNumbers(text) ? inexactNumbers(text) : [];
        const repeated = mayHoldDuplicateKeys(text, value) ? duplicateKeys(text) : [];
        if (inexact.length || repeated.length) {
          facts.set(request, { invalidUtf8: facts.get(request)?.invalidUtf8 ?? false,
            ...(inexact.length && { inexactNumbers: inexact }), ...(repeated.length && { duplicateKeys: repeated }) });
        }
      }
      done(error, value);
    });
  });
}

/** The `charset` parameter of a Content-Type, lower-cased and unquoted; undefined when there is none. */
export function declaredCharset(contentType: string): string | undefined {
  const match = /;\s*charset\s*=\s*(?:"([^"]*)"|([^;\s]*))/i.exec(contentType);
  return match ? (match[1] ?? match[2] ?? '').toLowerCase() : undefined;
}
