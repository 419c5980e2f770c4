/** Entry point: page styles and the app element (which creates everything else). */
import './page.css';
import './ui/app.ts';
