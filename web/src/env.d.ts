/// <reference types="vite/client" />

interface Window {
  /** The MapLibre map, exposed so browser tests can ask what is actually rendered. */
  __madadMap?: import('maplibre-gl').Map;
}
