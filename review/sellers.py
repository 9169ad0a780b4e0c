"""Sellers and seller networks: who is behind the copies, riskiest first, within the user's brands.

A seller or network of another brand gets the answer a missing one gets (404), so ids reveal
nothing; all limits are applied in the queries (``db.seller_views``, ``db.scoping``).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, render_template

from db.seller_views import network_detail, seller_detail, sellers_by_risk, visible_networks
from review.state import db, scope

bp = Blueprint("sellers", __name__)


@bp.route("/sellers")
def index() -> Any:
    return render_template("sellers.html", sellers=sellers_by_risk(db(), scope()))


@bp.route("/sellers/<int:seller_id>")
def detail(seller_id: int) -> Any:
    found = seller_detail(db(), scope(), seller_id)
    if found is None:
        abort(404, "No such seller.")
    return render_template("seller.html", d=found, s=found.seller)


@bp.route("/networks")
def networks() -> Any:
    return render_template("networks.html", networks=visible_networks(db(), scope()))


@bp.route("/networks/<int:network_id>")
def network(network_id: int) -> Any:
    found = network_detail(db(), scope(), network_id)
    if found is None:
        abort(404, "No such seller network.")
    return render_template("network.html", n=found)


@bp.route("/api/networks/<int:network_id>")
def network_api(network_id: int) -> Any:
    found = network_detail(db(), scope(), network_id)
    if found is None:
        abort(404, "No such seller network.")
    return jsonify(found.as_dict())
