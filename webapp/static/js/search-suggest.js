// Suggestions while typing in the search box: replaces the options of its
// <datalist> with the server's completions. Without this file the list the
// page was rendered with still helps.
document.addEventListener("DOMContentLoaded", () => {
  for (const input of document.querySelectorAll("input[data-suggest-url]")) {
    const list = document.getElementById(input.getAttribute("list"));
    if (!list) continue;
    let timer = null;
    let asked = "";
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const text = input.value.trim();
        if (text.length < 2 || text === asked) return;
        asked = text;
        try {
          const response = await fetch(`${input.dataset.suggestUrl}?q=${encodeURIComponent(text)}`,
                                       { headers: { Accept: "application/json" } });
          if (!response.ok || text !== asked) return;
          const { items } = await response.json();
          list.replaceChildren(...items.map((item) => {
            const option = document.createElement("option");
            option.value = item;
            return option;
          }));
        } catch (error) {
          // Offline or refused: keep the list as it is.
        }
      }, 200);
    });
  }
});
