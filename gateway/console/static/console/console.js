// Narrow screens: each table cell carries its column's heading, so a table can be shown
// as stacked rows (console.css, max-width 640px) without scrolling sideways.
(function () {
  "use strict";
  document.querySelectorAll("table").forEach(function (table) {
    var heads = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
      return th.textContent.trim();
    });
    if (!heads.length) { return; }
    table.classList.add("stackable");
    table.querySelectorAll("tbody tr").forEach(function (row) {
      var column = 0;
      Array.prototype.forEach.call(row.children, function (cell) {
        // A cell spanning several columns (a row's "none" note) belongs to none of them.
        if (heads[column] && (cell.colSpan || 1) === 1 && !cell.hasAttribute("data-label")) {
          cell.setAttribute("data-label", heads[column]);
        }
        column += cell.colSpan || 1;
      });
    });
  });
})();
