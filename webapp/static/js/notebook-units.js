// The unit list follows the chosen measurement: only its units, the usual one
// selected. Without this file the list offers "usual unit" and every type's units.
document.addEventListener("DOMContentLoaded", () => {
  for (const unit of document.querySelectorAll("select[data-units-of]")) {
    const type = document.getElementById(unit.dataset.unitsOf);
    if (!type) continue;
    const usual = unit.querySelector('option[value=""]');
    const follow = (keepChoice) => {
      let first = null;
      for (const option of unit.querySelectorAll("option[data-type]")) {
        const fits = option.dataset.type === type.value;
        option.hidden = option.disabled = !fits;
        if (fits && !first) first = option;
      }
      for (const group of unit.querySelectorAll("optgroup")) {
        group.hidden = !group.querySelector("option:not([disabled])");
      }
      if (usual) usual.hidden = usual.disabled = Boolean(first);
      const current = unit.selectedOptions[0];
      if (!first) unit.value = "";
      else if (!keepChoice || !current || current.disabled) unit.value = first.value;
    };
    follow(true);
    type.addEventListener("change", () => follow(false));
  }
});
