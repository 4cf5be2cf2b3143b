/* Segment builder: conditions and AND/OR groups edited as rows, kept in the hidden "definition" field
   as JSON, with a live count from the server. No inline scripts: the schema comes as a JSON script. */
(function () {
  "use strict";

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function select(options, value, label) {
    var s = el("select", { "aria-label": label });
    options.forEach(function (option) {
      var o = el("option", { value: option[0], text: option[1] });
      if (String(option[0]) === String(value)) o.selected = true;
      s.appendChild(o);
    });
    return s;
  }

  var OP_LABELS = {
    eq: "is", neq: "is not", in: "is any of", not_in: "is none of", contains: "contains",
    starts_with: "starts with", is_empty: "is empty", is_not_empty: "is not empty", gt: ">", gte: "≥",
    lt: "<", lte: "≤", between: "between", before: "before", after: "after", within_days: "in the last … days",
    is_true: "is yes", is_false: "is no", has: "has", has_any: "has any of", has_all: "has all of",
    exists: "did", not_exists: "did not", at_least: "did at least"
  };
  var NO_VALUE = ["is_empty", "is_not_empty", "is_true", "is_false"];
  var LIST_OPS = ["in", "not_in", "has_any", "has_all"];

  function init() {
    var root = document.getElementById("segment-builder");
    var form = document.getElementById("segment-form");
    var schemaNode = document.getElementById("segment-schema");
    if (!root || !form || !schemaNode) return;
    var schema = JSON.parse(schemaNode.textContent);
    var hidden = form.querySelector("input[name=definition]");
    var countNode = document.getElementById("segment-count");
    var fields = {};
    schema.fields.forEach(function (f) { fields[f.name] = f; });
    var fieldOptions = schema.fields.map(function (f) { return [f.name, f.label]; });
    fieldOptions.push(["touchpoint", "Engagement (touchpoints)"]);

    var definition;
    try { definition = JSON.parse(hidden.value || "{}"); } catch (e) { definition = {}; }
    if (!definition.conditions) definition = { match: "all", conditions: [] };

    function valueEditor(field, op, value) {
      var box = el("span", { class: "segment-value" });
      if (field === "touchpoint") {
        value = value || {};
        var kinds = [["", "any touchpoint"]].concat(schema.engagement.kinds);
        var campaigns = [["", "any campaign"]].concat(schema.engagement.campaigns);
        box.appendChild(select(kinds, value.kind || "", "Touchpoint kind")).dataset.key = "kind";
        box.appendChild(select(campaigns, value.campaign || "", "Campaign")).dataset.key = "campaign";
        var days = el("input", { type: "number", min: "1", placeholder: "within days", "aria-label": "Within days" });
        days.value = value.within_days || ""; days.dataset.key = "within_days"; box.appendChild(days);
        if (op === "at_least") {
          var count = el("input", { type: "number", min: "1", placeholder: "times", "aria-label": "Count" });
          count.value = value.count || 2; count.dataset.key = "count"; box.appendChild(count);
        }
        return box;
      }
      if (NO_VALUE.indexOf(op) >= 0) return box;
      var meta = fields[field] || { kind: "text", choices: [] };
      if (op === "between") {
        var type = meta.kind === "date" ? "date" : "number";
        var low = el("input", { type: type, "aria-label": "From" });
        var high = el("input", { type: type, "aria-label": "To" });
        if (Array.isArray(value)) { low.value = value[0]; high.value = value[1]; }
        low.dataset.key = "0"; high.dataset.key = "1";
        box.appendChild(low); box.appendChild(high);
        return box;
      }
      var input;
      if (meta.kind === "choice" && LIST_OPS.indexOf(op) < 0) {
        input = select(meta.choices.map(function (c) { return [c, c]; }), value, "Value");
      } else {
        var inputType = meta.kind === "number" || op === "within_days" ? "number" : meta.kind === "date" ? "date" : "text";
        input = el("input", { type: inputType, "aria-label": "Value",
          placeholder: LIST_OPS.indexOf(op) >= 0 ? "comma-separated" + (meta.choices.length ? ": " + meta.choices.join(", ") : "") : "" });
        input.value = Array.isArray(value) ? value.join(", ") : (value === undefined || value === null ? "" : value);
      }
      input.dataset.key = "value";
      box.appendChild(input);
      return box;
    }

    function conditionRow(condition) {
      var row = el("div", { class: "segment-row row", "data-testid": "segment-row" });
      var field = condition.field || schema.fields[0].name;
      var fieldSelect = select(fieldOptions, field, "Field");
      var ops = field === "touchpoint" ? schema.engagement.ops : (fields[field] || schema.fields[0]).ops;
      var op = ops.indexOf(condition.op) >= 0 ? condition.op : ops[0];
      var opSelect = select(ops.map(function (o) { return [o, OP_LABELS[o] || o]; }), op, "Operator");
      var remove = el("button", { type: "button", class: "btn btn-ghost btn-sm", text: "Remove", "aria-label": "Remove condition" });
      row.appendChild(fieldSelect); row.appendChild(opSelect);
      row.appendChild(valueEditor(field, op, condition.value)); row.appendChild(remove);
      fieldSelect.addEventListener("change", function () { row.replaceWith(conditionRow({ field: fieldSelect.value })); changed(); });
      opSelect.addEventListener("change", function () {
        var current = readCondition(row);
        row.replaceWith(conditionRow({ field: fieldSelect.value, op: opSelect.value, value: current.value })); changed();
      });
      remove.addEventListener("click", function () { row.remove(); changed(); });
      row.dataset.kind = "condition";
      return row;
    }

    function groupBox(group, nested) {
      var box = el("div", { class: nested ? "segment-group card" : "segment-group" });
      var match = select([["all", "all of (AND)"], ["any", "any of (OR)"]], group.match || "all", "Match");
      var header = el("div", { class: "row" }, [el("span", { text: nested ? "A group matching" : "Contacts matching" }), match]);
      var rows = el("div", { class: "stack segment-rows" });
      (group.conditions || []).forEach(function (c) {
        rows.appendChild(c.conditions && !nested ? groupBox(c, true) : conditionRow(c));
      });
      var add = el("button", { type: "button", class: "btn btn-secondary btn-sm", text: "Add condition", "data-testid": "add-condition" });
      add.addEventListener("click", function () { rows.appendChild(conditionRow({})); changed(); });
      var actions = el("div", { class: "row" }, [add]);
      if (!nested) {
        var addGroup = el("button", { type: "button", class: "btn btn-ghost btn-sm", text: "Add group" });
        addGroup.addEventListener("click", function () { rows.appendChild(groupBox({ match: "any", conditions: [{}] }, true)); changed(); });
        actions.appendChild(addGroup);
      } else {
        var drop = el("button", { type: "button", class: "btn btn-ghost btn-sm", text: "Remove group" });
        drop.addEventListener("click", function () { box.remove(); changed(); });
        actions.appendChild(drop);
      }
      box.appendChild(header); box.appendChild(rows); box.appendChild(actions);
      box.dataset.kind = "group";
      match.addEventListener("change", changed);
      return box;
    }

    function readCondition(row) {
      var selects = row.querySelectorAll(":scope > select");
      var field = selects[0].value, op = selects[1].value;
      var editors = row.querySelectorAll(".segment-value [data-key]");
      var condition = { field: field, op: op };
      if (field === "touchpoint") {
        var value = {};
        editors.forEach(function (input) {
          if (input.value === "") return;
          value[input.dataset.key] = input.dataset.key === "kind" ? input.value : parseInt(input.value, 10);
        });
        condition.value = value;
      } else if (editors.length === 2) {
        condition.value = [editors[0].value, editors[1].value];
      } else if (editors.length === 1) {
        var raw = editors[0].value;
        if (LIST_OPS.indexOf(op) >= 0) condition.value = raw.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
        else if (editors[0].type === "number") condition.value = raw === "" ? raw : Number(raw);
        else condition.value = raw;
      }
      return condition;
    }

    function readGroup(box) {
      var group = { match: box.querySelector(":scope > .row > select").value, conditions: [] };
      box.querySelectorAll(":scope > .segment-rows > *").forEach(function (child) {
        group.conditions.push(child.dataset.kind === "group" ? readGroup(child) : readCondition(child));
      });
      return group;
    }

    var timer = null;
    function changed() {
      hidden.value = JSON.stringify(readGroup(root.firstChild));
      clearTimeout(timer);
      timer = setTimeout(count, 300);
    }

    function count() {
      var body = new FormData();
      body.append("definition", hidden.value);
      body.append("csrfmiddlewaretoken", form.querySelector("input[name=csrfmiddlewaretoken]").value);
      countNode.textContent = "counting…";
      fetch(form.dataset.countUrl, { method: "POST", body: body, credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" } })
        .then(function (r) { return r.text(); })
        .then(function (html) { countNode.innerHTML = html; })
        .catch(function () { countNode.textContent = "count unavailable"; });
    }

    root.appendChild(groupBox(definition, false));
    root.addEventListener("input", changed);
    var kind = form.querySelector("select[name=kind]");
    function toggle() {
      document.getElementById("builder-card").hidden = kind && kind.value === "static";
    }
    if (kind) kind.addEventListener("change", toggle);
    toggle();
    changed();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
