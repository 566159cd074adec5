import "./styles.css";
import { mountPage } from "./app";
import { pickBackend } from "./backend";

const root = document.getElementById("app");
if (!root) throw new Error("index.html lost its #app element");
mountPage(root, pickBackend());
