// Sign-in list: find residents by name at intake, straight from this browser with the
// user's short-lived token; only the pseudonymous references go into the form.
(function () {
  var box = document.getElementById("sign-in");
  if (!box) return;
  var search = document.getElementById("name-search");
  var matches = document.getElementById("matches");
  var signed = document.getElementById("signed");
  var count = document.getElementById("signed-count");
  var timer = null;

  function item(text, ref, button) {
    var li = document.createElement("li");
    li.dataset.ref = ref;
    var span = document.createElement("span");
    span.textContent = text;
    li.appendChild(span);
    li.appendChild(button);
    return li;
  }

  function button(text, cls, onclick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = cls;
    b.textContent = text;
    b.addEventListener("click", onclick);
    return b;
  }

  function refresh() { count.textContent = signed.querySelectorAll("li").length; }

  function sign(resident) {
    if (signed.querySelector('li[data-ref="' + resident.ref + '"]')) return;
    var label = resident.name + " · " + (resident.grid_id || "") + " · " + (resident.age_band || "");
    var li = item(label, resident.ref, button(box.dataset.remove, "secondary remove", function () {
      li.remove(); refresh();
    }));
    var hidden = document.createElement("input");
    hidden.type = "hidden"; hidden.name = "attendee_refs"; hidden.value = resident.ref;
    li.appendChild(hidden);
    signed.appendChild(li);
    refresh();
  }

  function show(residents) {
    matches.innerHTML = "";
    if (!residents.length) {
      var none = document.createElement("li");
      none.textContent = box.dataset.none;
      matches.appendChild(none);
    }
    residents.forEach(function (r) {
      var label = r.name + " · " + (r.grid_id || "") + " · " + (r.age_band || "");
      matches.appendChild(item(label, r.ref, button(box.dataset.add, "add", function () { sign(r); })));
    });
  }

  function find() {
    var name = search.value.trim();
    if (name.length < 2) { matches.innerHTML = ""; return; }  // intake needs two characters
    var url = box.dataset.intake + "/residents?purpose=session%20sign-in&limit=10&name=" +
      encodeURIComponent(name);
    fetch(url, { headers: { Authorization: "Bearer " + box.dataset.token } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(show)
      .catch(function () {
        matches.innerHTML = "";
        var li = document.createElement("li");
        li.textContent = box.dataset.failed;
        li.className = "error";
        matches.appendChild(li);
      });
  }

  search.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(find, 300); });
  search.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); find(); } });
  signed.addEventListener("click", function (e) {
    if (e.target.classList.contains("remove")) { e.target.closest("li").remove(); refresh(); }
  });
})();
