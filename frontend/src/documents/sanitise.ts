import DOMPurify from "dompurify";

/**
 * A second sanitiser in the browser, on the same allowlist as the backend's (nh3 in
 * app/documents/rendering.py): the preview is written into the page as HTML, so a sanitiser
 * bug on the server, or a stale cached preview, must not become a script or a tracking image
 * here. The CSP (script-src 'self', no 'unsafe-inline') stays the third line.
 */
const ALLOWED_TAGS = [
  "h1", "h2", "h3", "h4", "h5", "h6",
  "p", "br", "hr", "blockquote",
  "ul", "ol", "li",
  "table", "thead", "tbody", "tr", "th", "td",
  "pre", "code",
  "a",
  "em", "strong", "del",
];
const ALLOWED_ATTR = ["id", "href", "title", "rel", "align", "class"];
// http(s), mailto, fragments and relative paths; no other scheme.
const ALLOWED_URI_REGEXP = /^(?:(?:https?|mailto):|[^a-z]|[a-z+.-]+(?:[^a-z+.\-:]|$))/i;

export function sanitisePreview(html: string): string {
  return DOMPurify.sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR,
    ALLOWED_URI_REGEXP,
    ALLOW_DATA_ATTR: false,
    ALLOW_ARIA_ATTR: false,
  });
}
