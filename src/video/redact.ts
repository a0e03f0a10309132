/**
 * Keeping camera credentials out of messages. Camera URLs often carry a user and password
 * (`http://admin:admin@192.168.0.107:8081/`); every URL a source shows, and every line of ffmpeg's
 * stderr it repeats, goes through these functions first.
 */

/** Userinfo (`user:password@`) after a scheme, in any text. */
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*@/gi;

/**
 * `url` with any user name and password replaced by `***`; text that is not a URL is returned
 * with the same rule applied to anything URL-like inside it.
 *
 * @example
 * redactUrl('http://admin:secret@192.168.0.7:8081/video'); // 'http://***@192.168.0.7:8081/video'
 */
export function redactUrl(url: string): string {
  return url.replace(USERINFO, '$1***@');
}

/**
 * Removes credentials from free text: URL userinfo, plus every occurrence of the given secrets
 * (raw and percent-encoded), which catches tools that print a decoded password on its own.
 *
 * @example
 * const r = new Redactor(['s3cret']);
 * r.text('rtsp://cam:s3cret@10.0.0.2/ failed for s3cret'); // 'rtsp://***@10.0.0.2/ failed for ***'
 */
export class Redactor {
  readonly #secrets: readonly string[];

  /** @param secrets - strings to hide wherever they appear (empty strings are ignored). */
  constructor(secrets: readonly string[] = []) {
    const all = new Set<string>();
    for (const s of secrets) {
      if (typeof s !== 'string' || s.length < 3) continue;
      all.add(s);
      all.add(encodeURIComponent(s));
    }
    // Longest first, so that a secret containing another is replaced whole.
    this.#secrets = [...all].sort((a, b) => b.length - a.length);
  }

  /** The secrets of a URL's userinfo (decoded user and password), for {@link Redactor}. */
  static forUrl(url: URL): Redactor {
    const secrets: string[] = [];
    for (const part of [url.username, url.password]) {
      if (part === '') continue;
      secrets.push(part);
      try {
        secrets.push(decodeURIComponent(part));
      } catch {
        // A malformed escape: the raw form is hidden already.
      }
    }
    return new Redactor(secrets);
  }

  /** `text` with URL userinfo and every secret replaced by `***`. */
  text(text: string): string {
    let out = redactUrl(text);
    for (const s of this.#secrets) out = out.split(s).join('***');
    return out;
  }
}
