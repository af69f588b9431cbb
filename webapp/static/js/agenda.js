// Small enhancements of the agenda grid; the grid works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // Open on the current hour of today's grid (or the first opening) rather than at midnight.
  const frame = document.querySelector(".agenda-scroll");
  if (!frame) return;
  const target = frame.querySelector("tr.is-now") || frame.querySelector("td.cell-free, td.cell-block, td.cell-open");
  if (target) {
    const row = target.closest("tr");
    const head = frame.querySelector("thead");
    frame.scrollTop = Math.max(0, row.offsetTop - (head ? head.offsetHeight : 0) - 8);
  }
});
