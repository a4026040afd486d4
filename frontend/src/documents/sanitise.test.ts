import { describe, expect, it } from "vitest";

import { sanitisePreview } from "./sanitise";

describe("sanitisePreview", () => {
  it("drops what could run or load, whatever the server sent", () => {
    const html = sanitisePreview(
      '<p onclick="alert(1)">a</p><img src="https://x.example/p.gif"><script>alert(2)</script>' +
        '<a href="javascript:alert(3)">j</a><iframe src="/"></iframe><svg onload="alert(4)"></svg>' +
        '<a href="data:text/html,x">d</a><div style="color:red">s</div>',
    );
    expect(html).not.toMatch(/onclick|onload|<img|<script|javascript:|<iframe|<svg|data:|style=/i);
    expect(html).toContain("<p>a</p>");
  });

  it("keeps what the backend's renderer makes", () => {
    const html =
      '<h2 id="h-goals">Goals</h2><p><a href="https://x.example/" rel="noopener noreferrer">x</a> ' +
      '<a href="#h-goals">top</a> <a href="mailto:a@x.example">m</a></p>' +
      '<table><thead><tr><th align="right">n</th></tr></thead><tbody><tr><td align="right">1</td></tr></tbody></table>' +
      '<pre class="mermaid">graph TD;</pre><pre><code class="language-python">x = 1</code></pre>' +
      "<blockquote><ul><li><em>a</em> <strong>b</strong> <del>c</del></li></ul></blockquote><hr>";
    expect(sanitisePreview(html)).toBe(html);
  });
});
