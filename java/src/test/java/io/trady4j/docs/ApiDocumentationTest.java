package io.trady4j.docs;

import jdk.javadoc.doclet.Doclet;
import jdk.javadoc.doclet.DocletEnvironment;
import jdk.javadoc.doclet.Reporter;
import org.junit.jupiter.api.Test;

import javax.lang.model.SourceVersion;
import javax.lang.model.element.Element;
import javax.lang.model.element.ElementKind;
import javax.lang.model.element.ExecutableElement;
import javax.lang.model.element.Modifier;
import javax.lang.model.element.PackageElement;
import javax.lang.model.element.TypeElement;
import javax.lang.model.type.TypeMirror;
import javax.lang.model.util.Elements;
import javax.tools.DocumentationTool;
import javax.tools.JavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every public (or protected) type, constructor, method, field and enum constant of the API
 * packages has a doc comment, so a consumer can work from the generated javadoc alone. Runs the
 * JDK's javadoc tool with a doclet that lists what lacks one (methods that override a documented
 * one inherit its comment and are not listed). HTML and reference errors are javadoc's own
 * doclint, run when the javadoc jar is built.
 */
class ApiDocumentationTest {
    static final List<String> API_PACKAGES = List.of("io.trady4j.tensor", "io.trady4j.backend",
            "io.trady4j.backend.cpu", "io.trady4j.backend.cuda", "io.trady4j.dlpack", "io.trady4j.nn",
            "io.trady4j.trady", "io.trady4j.train");
    private static final List<String> MISSING = new ArrayList<>();

    /** Lists the undocumented API elements into {@link #MISSING}. */
    public static final class MissingDocs implements Doclet {
        private DocletEnvironment env;

        @Override
        public void init(Locale locale, Reporter reporter) {
        }

        @Override
        public String getName() {
            return "MissingDocs";
        }

        @Override
        public Set<? extends Option> getSupportedOptions() {
            return Set.of();
        }

        @Override
        public SourceVersion getSupportedSourceVersion() {
            return SourceVersion.latest();
        }

        @Override
        public boolean run(DocletEnvironment environment) {
            this.env = environment;
            for (Element e : environment.getIncludedElements()) {
                if (e instanceof TypeElement t && visible(t) && API_PACKAGES.contains(packageOf(t))) {
                    check(t);
                    for (Element member : t.getEnclosedElements()) {
                        if (visible(member) && !(member instanceof TypeElement) && !inherited(t, member)) {
                            check(member);
                        }
                    }
                }
            }
            return true;
        }

        private String packageOf(Element e) {
            return env.getElementUtils().getPackageOf(e).getQualifiedName().toString();
        }

        private boolean visible(Element e) {
            Set<Modifier> m = e.getModifiers();
            boolean inPublicType = !(e.getEnclosingElement() instanceof TypeElement outer) || visible(outer);
            // Implicit members (enum values()/valueOf, a record's fields, accessors and canonical
            // constructor) have no source tree: javadoc documents them from the type's comment.
            return (m.contains(Modifier.PUBLIC) || m.contains(Modifier.PROTECTED)) && inPublicType
                    && e.getKind() != ElementKind.RECORD_COMPONENT
                    && env.getElementUtils().getOrigin(e) == Elements.Origin.EXPLICIT
                    && env.getDocTrees().getTree(e) != null;
        }

        /** Whether {@code member} overrides a method of a supertype (javadoc then inherits that comment). */
        private boolean inherited(TypeElement type, Element member) {
            if (!(member instanceof ExecutableElement method) || member.getKind() != ElementKind.METHOD) {
                return false;
            }
            List<TypeMirror> todo = new ArrayList<>(env.getTypeUtils().directSupertypes(type.asType()));
            while (!todo.isEmpty()) {
                TypeMirror s = todo.removeLast();
                Element se = env.getTypeUtils().asElement(s);
                if (se instanceof TypeElement st) {
                    for (Element m : st.getEnclosedElements()) {
                        if (m instanceof ExecutableElement other
                                && env.getElementUtils().overrides(method, other, type)) {
                            return true;
                        }
                    }
                }
                todo.addAll(env.getTypeUtils().directSupertypes(s));
            }
            return false;
        }

        private void check(Element e) {
            if (env.getDocTrees().getDocCommentTree(e) == null) {
                Element owner = e instanceof TypeElement ? e : e.getEnclosingElement();
                String where = owner instanceof TypeElement t ? t.getQualifiedName().toString()
                        : ((PackageElement) owner).getQualifiedName().toString();
                MISSING.add(where + (e instanceof TypeElement ? "" : "#" + e));
            }
        }
    }

    @Test
    void every_public_element_of_the_api_packages_has_a_doc_comment() throws IOException {
        Path src = Path.of("src/main/java");
        assertTrue(Files.isDirectory(src), "run from the java/ module directory");
        List<Path> files = new ArrayList<>();
        for (String pkg : API_PACKAGES) {
            try (Stream<Path> s = Files.list(src.resolve(pkg.replace('.', '/')))) {
                s.filter(p -> p.toString().endsWith(".java")).forEach(files::add);
            }
        }
        DocumentationTool tool = ToolProvider.getSystemDocumentationTool();
        MISSING.clear();
        try (StandardJavaFileManager fm = tool.getStandardFileManager(null, null, null)) {
            Iterable<? extends JavaFileObject> units = fm.getJavaFileObjectsFromPaths(files);
            List<String> options = List.of("-quiet",
                    "--class-path", System.getProperty("java.class.path"));
            Boolean ok = tool.getTask(null, fm, null, MissingDocs.class, options, units).call();
            assertTrue(ok, "javadoc ran");
        }
        assertEquals(List.of(), MISSING, MISSING.size() + " public API elements without a doc comment");
    }
}
