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

// Opening hours: add or remove a range in place; without this file the buttons post the form back.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form .day-hours") && document.querySelector(".day-hours").form;
  if (!form) return;
  form.addEventListener("click", (event) => {
    const button = event.target.closest("button[name=remove], button[name=add]");
    if (!button) return;
    const day = button.closest(".day-hours");
    if (button.name === "remove") {
      event.preventDefault();
      button.closest(".hours-range").remove();
      day.querySelector("button[name=add]").focus();
      return;
    }
    const rows = day.querySelectorAll(".hours-range");
    if (!rows.length) return;  // a closed day: the server draws its first range
    event.preventDefault();
    const last = rows[rows.length - 1];
    const indexes = [...rows].map((row) => Number(row.querySelector("input").name.split("-")[2]));
    const index = Math.max(...indexes) + 1;
    if (index > 99) return;
    const copy = last.cloneNode(true);
    copy.querySelector(".field-error")?.remove();
    const weekday = button.value;
    for (const input of copy.querySelectorAll("input")) {
      const bound = input.name.endsWith("-start") ? "start" : "end";
      input.name = input.id = `h-${weekday}-${index}-${bound}`;
      input.value = "";
      input.setAttribute("aria-invalid", "false");
      input.removeAttribute("aria-describedby");
      copy.querySelector(`label[for$="-${bound}"]`).htmlFor = input.id;
    }
    copy.querySelector("button[name=remove]").value = `${weekday}-${index}`;
    last.after(copy);
    copy.querySelector("input").focus();
  });
});
