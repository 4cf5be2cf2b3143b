/* Pipeline board: drag a card onto another column to move the deal. Each card also has a plain form
   ("Move to"), which works without JavaScript and from the keyboard. */
(function () {
  "use strict";
  function init() {
    var board = document.querySelector("[data-testid=board]");
    if (!board) return;
    var token = board.querySelector("input[name=csrfmiddlewaretoken]").value;
    var template = board.dataset.moveUrlTemplate;
    var dragged = null;
    board.querySelectorAll(".board-card[draggable=true]").forEach(function (card) {
      card.addEventListener("dragstart", function (event) {
        dragged = card;
        card.classList.add("is-dragging");
        event.dataTransfer.setData("text/plain", card.dataset.deal);
        event.dataTransfer.effectAllowed = "move";
      });
      card.addEventListener("dragend", function () { card.classList.remove("is-dragging"); });
    });
    board.querySelectorAll(".board-column").forEach(function (column) {
      column.addEventListener("dragover", function (event) { event.preventDefault(); column.classList.add("is-over"); });
      column.addEventListener("dragleave", function () { column.classList.remove("is-over"); });
      column.addEventListener("drop", function (event) {
        event.preventDefault();
        column.classList.remove("is-over");
        if (!dragged || dragged.closest(".board-column") === column) return;
        var card = dragged, from = card.closest(".board-column");
        var body = new FormData();
        body.append("stage", column.dataset.stage);
        body.append("version", card.dataset.version);
        body.append("csrfmiddlewaretoken", token);
        fetch(template.replace("/0/", "/" + card.dataset.deal + "/"), {
          method: "POST", body: body, credentials: "same-origin", headers: { "X-Requested-With": "fetch" }
        }).then(function (response) {
          return response.json().then(function (data) { return { ok: response.ok, data: data }; });
        }).then(function (result) {
          if (!result.ok) { window.alert(result.data.error || "The deal could not be moved."); return; }
          card.dataset.version = result.data.version;
          var version = card.querySelector("input[name=version]");
          if (version) version.value = result.data.version;
          var select = card.querySelector("select[name=stage]");
          if (select) select.value = String(result.data.stage);
          column.querySelector("[data-dropzone]").prepend(card);
          [from, column].forEach(function (col) {
            var n = col.querySelectorAll(".board-card").length;
            var counter = col.querySelector("[data-count]");
            if (counter) counter.textContent = String(n);
          });
        }).catch(function () { window.alert("The deal could not be moved."); });
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
