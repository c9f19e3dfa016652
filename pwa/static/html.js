// Text into HTML templates: the one escaping every module uses.

/** A string safe inside HTML text and attribute values. */
export const escapeHtml = (s) => String(s ?? "").replace(/[&<>"']/g,
  (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
